import { describe, expect, it } from 'vitest';
import { backward } from '../src/autograd/backward';
import { Graph } from '../src/autograd/graph';
import { ALL_OPS, BACKWARD_KERNELS, DIFFERENTIABLE_OPS } from '../src/autograd/registry';
import { GPTModel } from '../src/model/gpt';
import { gpu } from './helpers/gpu';

describe('op table', () => {
  it('every differentiable op has a backward rule and float64 references', () => {
    for (const op of DIFFERENTIABLE_OPS) {
      expect(op.backward, `${op.name}.backward`).toBeTypeOf('function');
      expect(op.reference?.forward, `${op.name}.reference.forward`).toBeTypeOf('function');
      expect(op.reference?.backward, `${op.name}.reference.backward`).toBeTypeOf('function');
    }
  });

  it('op names are unique and kernel-only ops have no backward', () => {
    expect(new Set(ALL_OPS.map((op) => op.name)).size).toBe(ALL_OPS.length);
    for (const { op } of BACKWARD_KERNELS) expect(op.backward, op.name).toBeUndefined();
  });

  it('a traced training step uses only ops from the table', async () => {
    const ctx = await gpu();
    const model = new GPTModel(ctx, { vocabSize: 11, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8 });
    const graph = new Graph();
    const { loss } = model.loss(graph, graph.input('idx', [2, 8], 'i32'), graph.input('targets', [2, 8], 'i32'));
    backward(graph, [{ tensor: loss, grad: graph.constant('one', Float32Array.of(1), [1]) }]);
    const known = new Set(ALL_OPS);
    for (const node of graph.nodes) expect(known.has(node.op), node.op.name).toBe(true);
    model.destroy();
  });
});
