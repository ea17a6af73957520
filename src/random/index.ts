// Random number generation compatible with PyTorch (CPU generator), CPython's `random` and numpy's
// legacy RandomState, all on one MT19937 engine.
export { MT19937, MT_N } from './mt19937.js';
export {
  Generator,
  defaultGenerator,
  manualSeed,
  initialSeed,
  DEFAULT_SEED,
  TORCH_STATE_BYTES,
  type RandomDtype,
} from './generator.js';
export { PyRandom, type PyRandomState } from './pyrandom.js';
export { NumpyRandomState, type NumpyRandomStateState } from './numpy.js';
export { crLog, crSin, crCos } from './crmath.js';
