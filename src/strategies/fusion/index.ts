/**
 * Token-level collaboration, part 2: logit fusion of local models sharing a vocabulary —
 * proxy-tuning (Liu et al. 2024), contrastive decoding (Li et al. 2023) and weighted ensembling.
 */
export {
  proxyTuning,
  contrastive,
  ensemble,
  fusedModel,
  type FusedModel,
  type FusionPart,
  type FusionSpec,
  type ProxyTuningOptions,
  type ContrastiveOptions,
  type EnsembleOptions,
} from "./fusion.js";
