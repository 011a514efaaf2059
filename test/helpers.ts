/** Paths shared by tests. */
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("..", import.meta.url));
export const modelPath = (file: string) => fileURLToPath(new URL(`../models/${file}`, import.meta.url));
export const sharedData = (path: string) => fileURLToPath(new URL(`../../shared/data/${path}`, import.meta.url));
