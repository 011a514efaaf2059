/**
 * Safety classification on the edge: the guard's harmful-request classifier (word and character
 * n-gram logistic regression), prompt-injection / secret / placeholder rules, an optional SLM
 * judge, the safety data sets of ../shared/data/safety, training and metrics. The `guard` strategy
 * (src/strategies/guard) screens requests and answers with these.
 */
export { GuardClassifier, guardFeatures, defaultGuardModelPath, loadGuardClassifier, type GuardClassifierFile, type SafetyExample } from "./classifier.js";
export { loadSafetyDataset, loadXSTest, loadHarmBench, loadHarmless, safetySplit, augmentFramings, safetyDataDir, type SafetySplit } from "./data.js";
export { injectionScore, secretScore, placeholderLeakScore, containsJwt, type RuleHit } from "./detectors.js";
export { slmJudge, judgePrompt, JUDGE_CATEGORIES, type GuardJudge, type JudgeVerdict, type SlmJudgeOptions } from "./judge.js";
export { auroc, binaryMetrics, tprAtFpr, type BinaryMetrics } from "./metrics.js";
export { trainGuard, evaluateGuard, evaluateGuardClassifier, formatGuardReport, type GuardReport, type GuardTrainOptions } from "./train.js";
