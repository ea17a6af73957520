// makemore: vocabulary, data sets and splits, the counting bigram model, and the lectures' plots.
export { Vocabulary, STOP_CHAR, STOP_TOKEN, describeChar, type VocabularyJSON } from './vocab.js';
export {
  readWords,
  parseWords,
  defaultWordsPath,
  splitWords,
  buildContexts,
  bigramPairs,
  type SplitOptions,
  type WordSplit,
  type ContextDataset,
  type BigramPairs,
} from './data.js';
export {
  countBigrams,
  bigramProbabilities,
  sampleWords,
  averageNll,
  type BigramCounts,
  type SampleOptions,
  type NllResult,
} from './bigram-counts.js';
export {
  plotBigramCounts,
  plotLossCurve,
  plotLearningRateSweep,
  plotEmbedding2d,
  type WrittenChart,
  type LossCurveOptions,
  type EmbeddingPoint,
} from './plots.js';
export {
  NeuralBigram,
  createNeuralBigram,
  bigramTensors,
  type NeuralBigramOptions,
  type BigramLossOptions,
  type BigramStepOptions,
  type BigramLoss,
  type BigramTrainOptions,
} from './neural-bigram.js';
export {
  Mlp,
  createMlp,
  contextTensors,
  stepDecay,
  LECTURE_MLP,
  type MlpConfig,
  type MlpOptions,
  type MlpSplit,
  type MlpData,
  type MlpStepOptions,
  type MlpTrainOptions,
  type MlpTrainResult,
} from './mlp.js';
export { learningRateSweep, suggestLearningRate, type LrSweep, type LrSweepOptions, type LrSuggestion } from './lr-finder.js';
export { sampleSequences, type SampleLoopOptions, type NextTokenProbabilities } from './sampling.js';
