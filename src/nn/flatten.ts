// Shape-only modules: Flatten (torch's default start_dim=1 keeps the batch dim) and Identity.
import { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;

  constructor(startDim = 1, endDim = -1) {
    super();
    if (!Number.isInteger(startDim) || !Number.isInteger(endDim)) throw new Error(`Flatten: startDim and endDim must be integers, got ${startDim} and ${endDim}`);
    this.startDim = startDim;
    this.endDim = endDim;
  }

  forward(input: Tensor): Tensor {
    return input.flatten(this.startDim, this.endDim);
  }

  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

/** Returns its input unchanged (a placeholder layer, as torch's nn.Identity). */
export class Identity extends Module {
  constructor(..._args: unknown[]) {
    super();
  }

  forward<T>(input: T): T {
    return input;
  }
}
