import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { backward } from '../src/autograd/backward';
import { Graph } from '../src/autograd/graph';
import type { OpDef } from '../src/autograd/op';
import { ALL_OPS, BACKWARD_KERNELS, DIFFERENTIABLE_OPS, INFERENCE_OPS } from '../src/autograd/registry';
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

  it('lists every op the ops folder exports, and each is checked against float64 in the tests', () => {
    const modules = import.meta.glob<Record<string, unknown>>('../src/autograd/ops/*.ts', { eager: true });
    const isOp = (v: unknown): v is OpDef =>
      typeof v === 'object' &&
      v !== null &&
      typeof (v as OpDef).encode === 'function' &&
      typeof (v as OpDef).outputs === 'function';
    const exported = new Map<OpDef, string>();
    const modulePath = new Map<OpDef, string>();
    for (const [path, module] of Object.entries(modules)) {
      for (const [name, value] of Object.entries(module)) {
        if (!isOp(value)) continue;
        exported.set(value, name);
        modulePath.set(value, path.replace(/^\.\.\//, '').replace(/\.ts$/, ''));
      }
    }
    expect(exported.size).toBeGreaterThanOrEqual(ALL_OPS.length);
    for (const [op, name] of exported) expect(ALL_OPS.includes(op), `${name} is missing from the op table`).toBe(true);

    // A differentiable op is checked by checkOp itself; an inference op beside the op it mirrors;
    // a backward kernel through the checkOp of the op whose backward emits it.
    const tests = readdirSync('tests')
      .filter((f) => f.endsWith('.test.ts'))
      .map((f) => readFileSync(`tests/${f}`, 'utf8'))
      .join('\n');
    const checked = (op: OpDef) => tests.includes(`checkOp(${exported.get(op)}`);
    for (const op of DIFFERENTIABLE_OPS) expect(checked(op), `no checkOp(${exported.get(op)}, ...) test`).toBe(true);
    for (const { op, mirrors } of INFERENCE_OPS) {
      expect(checked(mirrors), `no checkOp(${exported.get(mirrors)}, ...) test`).toBe(true);
      expect(
        tests.includes(`'../${modulePath.get(op)}'`),
        `no test imports ${modulePath.get(op)} to compare ${exported.get(op)} with ${exported.get(mirrors)}`,
      ).toBe(true);
    }
    for (const { op, usedBy } of BACKWARD_KERNELS) {
      expect(
        checked(usedBy),
        `${exported.get(op)} is checked through checkOp(${exported.get(usedBy)}, ...), which no test calls`,
      ).toBe(true);
      expect(usedBy.backward, `${exported.get(usedBy)} emits ${exported.get(op)} from its backward`).toBeTypeOf(
        'function',
      );
    }
  });

  it('a traced decoding step (the KV cache sampling uses) uses only ops from the table', async () => {
    const ctx = await gpu();
    const [nLayer, nHead, nEmbd, blockSize] = [1, 2, 8, 8];
    const model = new GPTModel(ctx, { vocabSize: 11, blockSize, nLayer, nHead, nEmbd });
    const graph = new Graph();
    const cache = (i: number) => graph.input(`cache${i}`, [nHead, blockSize, nEmbd / nHead]);
    model.forward(graph, graph.input('idx', [1, 1], 'i32'), {
      decode: { kCaches: [cache(0)], vCaches: [cache(1)], pos: graph.input('pos', [1], 'i32') },
    });
    const known = new Set(ALL_OPS);
    const used = new Set(graph.nodes.map((n) => n.op));
    for (const op of used) expect(known.has(op), op.name).toBe(true);
    expect([...used].some((op) => INFERENCE_OPS.some((e) => e.op === op))).toBe(true);
    model.destroy();
  });
});
