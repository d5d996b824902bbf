/**
 * Reverse-mode differentiation over a traced graph: walks the nodes backwards, asks each op's
 * backward rule for its input gradients (which appends new nodes), sums gradients of tensors used
 * more than once, and routes parameter gradients into the parameter store's gradient slots, where
 * they accumulate (so micro-batches add up without extra passes).
 */
import type { Tensor } from './tensor';
import type { Graph } from './graph';
import { add, copyIntoGradSlot } from './ops/elementwise';

export interface GradSeed {
  tensor: Tensor;
  grad: Tensor;
}

/** Returns the gradients of the non-parameter tensors that require grad (e.g. test inputs). */
export function backward(graph: Graph, seeds: GradSeed[]): Map<Tensor, Tensor> {
  const grads = new Map<Tensor, Tensor>();
  const accumulate = (t: Tensor, g: Tensor) => {
    const prev = grads.get(t);
    grads.set(t, prev ? add(prev, g) : g);
  };
  for (const s of seeds) {
    if (s.grad.shape.join() !== s.tensor.shape.join())
      throw new Error(`backward: seed grad shape [${s.grad.shape.join(',')}] != [${s.tensor.shape.join(',')}]`);
    accumulate(s.tensor, s.grad);
  }
  const paramContributions: [Tensor, Tensor][] = [];
  const forwardNodes = graph.nodes.slice();
  for (let i = forwardNodes.length - 1; i >= 0; i--) {
    const node = forwardNodes[i]!;
    if (!node.op.backward || !node.inputs.some((t) => t.requiresGrad)) continue;
    const gradOutputs = node.outputs.map((o) => (o.requiresGrad ? (grads.get(o) ?? null) : null));
    if (gradOutputs.every((g) => g === null)) continue;
    const gradInputs = node.op.backward(node.inputs, node.outputs, gradOutputs, node.attrs);
    node.inputs.forEach((input, k) => {
      const g = gradInputs[k];
      if (!g || !input.requiresGrad) return;
      if (g.shape.join() !== input.shape.join())
        throw new Error(
          `${node.op.name} backward: grad of input ${k} has shape [${g.shape.join(',')}], input has [${input.shape.join(',')}]`,
        );
      if (input.kind === 'param') paramContributions.push([input, g]);
      else accumulate(input, g);
    });
  }
  const consumers = graph.consumers();
  for (const [param, g] of paramContributions) sinkParamGrad(param, g, (consumers.get(g.id)?.length ?? 0) > 0);
  const result = new Map<Tensor, Tensor>();
  for (const [t, g] of grads) if (t.kind !== 'temp' && t.kind !== 'param') result.set(t, g);
  return result;
}

/**
 * Makes `g` add into the gradient slot of `param`: when the node producing `g` can accumulate into
 * its output and nothing else reads `g`, it writes the slot directly; otherwise a copy node adds it.
 */
function sinkParamGrad(param: Tensor, g: Tensor, hasReaders: boolean): void {
  const node = g.producer;
  if (node && node.op.canAccumulate && node.outputs.length === 1 && !hasReaders && g.kind === 'temp') {
    node.attrs = { ...node.attrs, accumulate: true };
    g.kind = 'paramGrad';
    g.paramName = param.paramName;
    return;
  }
  copyIntoGradSlot(g, param);
}
