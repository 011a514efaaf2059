/** Shadow evaluation (docs/shadow.md): a candidate strategy scored on live traffic before it is switched on. */
export { ShadowEvaluator, type RoutePreview, type ShadowEvent, type ShadowEvaluatorOptions, type ShadowStats } from "./evaluator.js";
export { routePreview } from "./route-preview.js";
export { buildShadow, type ShadowBuildParts, type ShadowRuntime } from "./build.js";
export { modelPairwiseJudge, pairwiseMessages, parsePairwiseVerdict, PAIRWISE_SYSTEM_PROMPT, type PairwiseInput, type PairwiseJudge, type PairwiseJudgment, type Verdict } from "./judge.js";
export { bernoulliSampler, type ShadowSampler } from "./sampler.js";
export { bootstrapRatioInterval, formatShadowReport, netChangeInterval, shadowReport, thresholdSweep, wilsonInterval, type ShadowReport, type ShadowReportOptions, type ThresholdPoint } from "./report.js";
export { shadowSectionSchema, shadowSpecSchema, type ShadowSpec } from "./schema.js";
export { registerShadowMetrics } from "./metrics.js";
export { memoryShadowStore, openShadowStore, type ShadowQuery, type ShadowRecord, type ShadowSide, type ShadowStore, type ShadowVerdict } from "../store/shadow.js";
