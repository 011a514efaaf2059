/** Edge PII detection: patterns with validators, our BIO tagger, an optional SLM pass, and evaluation. */
export * from "./types.js";
export { DEFAULT_RECOGNIZERS, findPatternSpans, resolveOverlaps, type PatternRecognizer } from "./patterns.js";
export { PerceptronTagger, bioLabels, bioToSpans, type LabeledText, type TaggerFile, type TaggerTrainOptions } from "./tagger.js";
export { tokenize, type Token } from "./tokenize.js";
export { normalizingDetector } from "./normalizing-detector.js";
export { createDetector, loadTagger, defaultTaggerPath, PATTERN_TYPES, type DetectorOptions } from "./detector.js";
export { slmDetector, slmExtractionPrompt, type SlmDetectorOptions } from "./slm.js";
export { loadPiiDataset, splitByGroup, defaultPrivacyDatasetPath, type PiiExample, type SplitOptions } from "./dataset.js";
export { scoreSpans, type SpanReport, type PrfRow, type TypedSpan } from "./metrics.js";
export { trainPrivacyTagger, evaluateDetector, evaluatePrivacy, formatSpanReport, type PrivacyTrainOptions, type PrivacyEvalOptions, type PrivacyTrainResult } from "./train.js";
