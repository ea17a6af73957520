// Checkpoints: safetensors files that PyTorch loads (safetensors.torch.load_file + load_state_dict)
// and that ferrograd loads from PyTorch, written atomically.
export {
  saveSafetensors,
  loadSafetensors,
  readSafetensorsMetadata,
  MAX_HEADER_BYTES,
  type SaveSafetensorsOptions,
  type SafetensorsDtype,
} from './safetensors.js';
