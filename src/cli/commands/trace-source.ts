/**
 * Where the trace CLI (`tandem traces`, `tandem traces export`) reads: the trace store a gateway
 * writes — the SQLite file (the default, `.tandem/traces.sqlite`) or the PostgreSQL database of a
 * policy's `traces.postgres` — opened behind the store's read interface ({@link AsyncTraceStore},
 * src/store/traces.ts), so both commands read either the same way.
 */
import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { policyBaseDir, readPolicyFile } from "../../policy/builder.js";
import { openPostgresTraceStore, redactUrl } from "../../store/postgres/traces.js";
import { openTraceStore, type AsyncTraceStore } from "../../store/traces.js";

/** Environment variable naming a Postgres trace store, read when no `--db`, `--policy` or `--postgres` is given. */
export const TRACES_POSTGRES_ENV = "TANDEM_TRACES_POSTGRES_URL";

/** The default SQLite trace database (relative to the working directory), as the policy's `traces.path` default. */
export const DEFAULT_TRACE_DB = ".tandem/traces.sqlite";

/** Where to read traces; at most one of `db`, `policy`, `postgres`. */
export interface TraceSourceOptions {
  /** SQLite trace database file. */
  db?: string;
  /** Policy file (tandem.yaml): its `traces` section says where (`postgres.url`, or `path` relative to the file). */
  policy?: string;
  /** PostgreSQL URL (`postgres://user:pass@host:port/db`). */
  postgres?: string;
  /** Environment for {@link TRACES_POSTGRES_ENV}. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** An opened trace store and a description of it for messages (a Postgres URL with its password masked). */
export interface TraceSource {
  store: AsyncTraceStore;
  /** `/abs/path/traces.sqlite` or `postgres://user:***@host:port/db`. */
  where: string;
  /** Closes the store (for Postgres: flushes nothing — a reader records nothing — and ends the pool). */
  close(): Promise<void>;
}

/**
 * Opens the trace store to read: `postgres` (a Postgres URL), else `policy` (its `traces`
 * section: `traces.postgres.url`, else `traces.path` resolved against the policy file's
 * directory), else `db` (a SQLite file), else the {@link TRACES_POSTGRES_ENV} variable, else
 * {@link DEFAULT_TRACE_DB}. Opening a Postgres store applies its schema migrations (idempotent),
 * as a gateway does. Errors (`Error` with a one-line message): more than one source given; a
 * policy that is unreadable or invalid (`TandemError("invalid_policy")`) or has `traces: false`;
 * a missing SQLite file; Postgres connection errors (the URL's password masked).
 */
export async function openTraceSource(options: TraceSourceOptions = {}): Promise<TraceSource> {
  const given = (["db", "policy", "postgres"] as const).filter((k) => options[k] !== undefined);
  if (given.length > 1) throw new Error(`Pass only one of --db, --policy and --postgres (got ${given.map((k) => `--${k}`).join(", ")})`);
  let url = options.postgres;
  let db = options.db;
  if (options.policy !== undefined) {
    const policy = readPolicyFile(options.policy);
    if (policy.traces === false) throw new Error(`Policy ${options.policy} has 'traces: false': its gateway stores no traces`);
    if (policy.traces.postgres) url = policy.traces.postgres.url;
    else db = isAbsolute(policy.traces.path) ? policy.traces.path : resolve(policyBaseDir(options.policy), policy.traces.path);
  } else if (url === undefined && db === undefined) {
    url = (options.env ?? process.env)[TRACES_POSTGRES_ENV] || undefined;
  }
  if (url !== undefined) {
    const store = await openPostgresTraceStore(url, { maxConnections: 2 });
    return { store, where: redactUrl(url), close: () => store.close() };
  }
  const path = resolve(db ?? DEFAULT_TRACE_DB);
  if (!existsSync(path)) throw new Error(`No trace database at ${path} (start 'tandem serve' and send requests, or pass --db, --policy or --postgres)`);
  const store = openTraceStore(path);
  return { store, where: path, close: async () => store.close() };
}
