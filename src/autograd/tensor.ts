/** Symbolic tensors of a traced graph. Data lives in GPU buffers that a compiled plan assigns. */
import type { DType, Shape, TensorSpec } from './op';
import { numel } from './op';
import type { Graph, Node } from './graph';

/**
 * - param: a slice of the parameter store (weights); its gradient accumulates into the store.
 * - paramGrad: the gradient slot of a param; nodes that write it add into it.
 * - input: host data written before each run (token ids, targets, test data).
 * - const: host data fixed when the graph is built (the loss seed).
 * - temp: produced by a node; its buffer is reused once no later node reads it.
 */
export type TensorKind = 'param' | 'paramGrad' | 'input' | 'const' | 'temp';

export class Tensor implements TensorSpec {
  readonly id: number;
  readonly shape: Shape;
  readonly dtype: DType;
  kind: TensorKind;
  /** The producing node (temp and paramGrad tensors). */
  producer: Node | null = null;
  /** Parameter name, for param and paramGrad tensors. */
  paramName: string | null = null;
  /** Whether gradients flow to this tensor (params always; inputs when asked, for tests). */
  requiresGrad: boolean;
  /** Host data of const tensors. */
  constData: Float32Array | Int32Array | null = null;
  label: string;

  constructor(
    readonly graph: Graph,
    spec: TensorSpec,
    kind: TensorKind,
    label: string,
    requiresGrad: boolean,
  ) {
    this.id = graph.nextTensorId();
    this.shape = spec.shape;
    this.dtype = spec.dtype;
    this.kind = kind;
    this.label = label;
    this.requiresGrad = requiresGrad;
  }

  get numel(): number {
    return numel(this.shape);
  }

  get spec(): TensorSpec {
    return { shape: this.shape, dtype: this.dtype };
  }

  toString(): string {
    return `${this.label}#${this.id}[${this.shape.join(',')}]`;
  }
}
