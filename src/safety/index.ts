/**
 * Safety classification on the edge: the guard's harmful-request classifier (word and character
 * n-gram logistic regression), prompt-injection / secret / placeholder rules, an optional SLM
 * judge, the safety data sets of ../shared/data/safety, training and metrics. The `guard` strategy
 * (src/strategies/guard) screens requests and answers with these.
 */
export { GuardClassifier, guardFeatures, defaultGuardModelPath, loadGuardClassifier, type GuardClassifierFile, type GuardClassifierFileV1, type SafetyExample } from "./classifier.js";
export { LinearTextModel, linearTextFeatures, maskedText, plattFit, thresholdAtFpr, type LinearTextModelFile, type LinearExample } from "./linear.js";
export { dataHash } from "./data-hash.js";
export { InjectionDetector, loadInjectionDetector, defaultInjectionModelPath, injectionExtraFeatures, type InjectionVerdict } from "./injection.js";
export { loadSafetyDataset, loadXSTest, loadHarmBench, loadHarmless, loadSafetyJsonl, loadPiiPrompts, splitByKey, safetySplit, injectionSplit, augmentFramings, safetyDataDir, type SafetySplit } from "./data.js";
export { injectionScore, secretScore, placeholderLeakScore, containsJwt, type RuleHit } from "./detectors.js";
export { slmJudge, judgePrompt, JUDGE_CATEGORIES, JudgeFailure, type GuardJudge, type JudgeVerdict, type SlmJudgeOptions } from "./judge.js";
export { modelJudge, openaiCompatibleJudge, parseLlamaGuardVerdict, parseJsonVerdict, judgeMessages, LLAMA_GUARD_CATEGORIES, type JudgePromptStyle, type ModelJudgeOptions, type OpenAICompatibleJudgeOptions, type ParsedVerdict } from "./remote-judge.js";
export { auroc, binaryMetrics, tprAtFpr, type BinaryMetrics } from "./metrics.js";
export { trainGuard, evaluateGuard, evaluateGuardClassifier, formatGuardReport, setMetrics, balancedWeights, trainInjection, evaluateInjection, evaluateInjectionDetector, HARM_THRESHOLD_RULE, type GuardReport, type SetMetrics, type GuardTrainOptions, type InjectionTrainOptions } from "./train.js";
