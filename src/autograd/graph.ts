/**
 * A traced computation: tensors and the nodes (op applications) that produce them, in the order
 * they were applied, which is also a valid execution order. Backward rules append more nodes.
 */
import type { Attrs, OpDef, Shape, TensorSpec } from './op';
import { numel, shapeString } from './op';
import { Tensor } from './tensor';

export interface Node {
  readonly id: number;
  readonly op: OpDef;
  attrs: Attrs;
  readonly inputs: Tensor[];
  readonly outputs: Tensor[];
}

export class Graph {
  readonly nodes: Node[] = [];
  readonly tensors: Tensor[] = [];
  private tensorIds = 0;

  nextTensorId(): number {
    return this.tensorIds++;
  }

  private add(spec: TensorSpec, kind: Tensor['kind'], label: string, requiresGrad: boolean): Tensor {
    const t = new Tensor(this, spec, kind, label, requiresGrad);
    this.tensors.push(t);
    return t;
  }

  /** A weight from the parameter store; `name` is its Hugging Face name. */
  param(name: string, shape: Shape): Tensor {
    const t = this.add({ shape, dtype: 'f32' }, 'param', name, true);
    t.paramName = name;
    return t;
  }

  /** Host data written before each run. */
  input(label: string, shape: Shape, dtype: TensorSpec['dtype'] = 'f32', requiresGrad = false): Tensor {
    return this.add({ shape, dtype }, 'input', label, requiresGrad);
  }

  /** Host data fixed at build time. */
  constant(label: string, data: Float32Array | Int32Array, shape: Shape): Tensor {
    if (data.length !== numel(shape))
      throw new Error(`constant ${label}: ${data.length} values for shape ${shapeString(shape)}`);
    const t = this.add({ shape, dtype: data instanceof Int32Array ? 'i32' : 'f32' }, 'const', label, false);
    t.constData = data;
    return t;
  }

  /** Applies an op: checks shapes, creates the output tensors and records the node. */
  apply<A extends Attrs>(op: OpDef<A>, inputs: Tensor[], attrs: A, labels?: string[]): Tensor[] {
    for (const t of inputs)
      if (t.graph !== this) throw new Error(`${op.name}: input ${t.toString()} belongs to another graph`);
    const specs = op.outputs(
      inputs.map((t) => t.spec),
      attrs,
    );
    const requiresGrad = op.backward !== undefined && inputs.some((t) => t.requiresGrad);
    const node: Node = { id: this.nodes.length, op, attrs, inputs, outputs: [] };
    specs.forEach((spec, k) => {
      const differentiable = (op.differentiableOutputs?.[k] ?? true) && spec.dtype !== 'i32';
      const t = this.add(
        spec,
        'temp',
        labels?.[k] ?? `${op.name}${specs.length > 1 ? `.${k}` : ''}`,
        requiresGrad && differentiable,
      );
      t.producer = node;
      node.outputs.push(t);
    });
    this.nodes.push(node);
    return node.outputs;
  }

  /** Like apply, for ops with one output. */
  apply1<A extends Attrs>(op: OpDef<A>, inputs: Tensor[], attrs: A, label?: string): Tensor {
    return this.apply(op, inputs, attrs, label ? [label] : undefined)[0]!;
  }

  /** Nodes that read each tensor (by tensor id). */
  consumers(): Map<number, Node[]> {
    const map = new Map<number, Node[]>();
    for (const node of this.nodes)
      for (const t of node.inputs) {
        const list = map.get(t.id) ?? [];
        list.push(node);
        map.set(t.id, list);
      }
    return map;
  }
}
