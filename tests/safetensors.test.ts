import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  expectTensor,
  parseSafetensors,
  SafetensorsError,
  tensorAsFloat32,
  tensorAsFloat64,
  tensorAsInt32,
  writeSafetensors,
} from '../src/model/safetensors';
import {
  configFromHfJson,
  flopParamCount,
  gpt2ParamShapes,
  HfConfigError,
  hfConfigJson,
  paramCount,
  trainingFlopsPerToken,
} from '../src/model/hf';

/** A file from a raw header string and data bytes; `lenOverride` fakes the u64 header length. */
function rawFile(header: string | object, data: ArrayLike<number> = [], lenOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lenOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function expectError(bytes: Uint8Array, message: RegExp): void {
  let err: unknown;
  try {
    parseSafetensors(bytes);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(SafetensorsError);
  expect((err as Error).message).toMatch(message);
}

const f32 = (shape: number[], begin: number, end: number) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

describe('safetensors round trip', () => {
  it('writes and reads F32, I32, F64, scalars and empty tensors with metadata', () => {
    const a = Float32Array.from({ length: 3 * 37 }, (_, i) => Math.sin(i) * 1e3);
    const b = Int32Array.from([-2147483648, -1, 0, 7, 2147483647]);
    const c = Float64Array.from([Math.PI, -1e-300, 1e300]);
    const bytes = writeSafetensors(
      [
        { name: 'a', dtype: 'F32', shape: [3, 37], data: a },
        { name: 'b', dtype: 'I32', shape: [5], data: b },
        { name: 'c.x', dtype: 'F64', shape: [3, 1], data: c },
        { name: 'scalar', dtype: 'F32', shape: [], data: [2.5] },
        { name: 'empty', dtype: 'F32', shape: [0, 4], data: [] },
        { name: 'converted', dtype: 'F32', shape: [2], data: new Float64Array([0.1, 1e40]) },
      ],
      { config: '{"x":1}' },
    );
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLen % 8).toBe(0);
    const file = parseSafetensors(bytes);
    expect(file.metadata).toEqual({ format: 'pt', config: '{"x":1}' });
    expect([...file.tensors.keys()]).toEqual(['a', 'b', 'c.x', 'scalar', 'empty', 'converted']);
    expect(expectTensor(file, 'a', [3, 37]).dtype).toBe('F32');
    expect(tensorAsFloat32(file.tensors.get('a')!)).toEqual(a);
    expect(tensorAsInt32(file.tensors.get('b')!)).toEqual(b);
    expect(tensorAsFloat64(file.tensors.get('c.x')!)).toEqual(c);
    expect(tensorAsFloat64(file.tensors.get('a')!)).toEqual(Float64Array.from(a));
    expect(tensorAsFloat32(file.tensors.get('c.x')!)).toEqual(Float32Array.from(c));
    expect(tensorAsFloat32(file.tensors.get('scalar')!)).toEqual(Float32Array.from([2.5]));
    expect(file.tensors.get('empty')!.shape).toEqual([0, 4]);
    expect(tensorAsFloat32(file.tensors.get('empty')!).length).toBe(0);
    expect(tensorAsFloat32(file.tensors.get('converted')!)).toEqual(Float32Array.from([0.1, Infinity]));
  });

  it('converts F16, BF16, I64 and unaligned data', () => {
    const f16 = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x3555];
    const bf16 = [0x3f80, 0xbf00, 0x4049];
    const i64 = new DataView(new ArrayBuffer(24));
    [5n, -3n, 2147483647n].forEach((v, i) => i64.setBigInt64(i * 8, v, true));
    const data: number[] = [9]; // one U8 first, so everything after it is misaligned
    for (const h of [...f16, ...bf16]) data.push(h & 0xff, h >> 8);
    data.push(...new Uint8Array(i64.buffer));
    const f32v = new Uint8Array(Float32Array.from([1.5, -2.25]).buffer);
    data.push(...f32v);
    const n16 = 2 * f16.length;
    const nb = 2 * bf16.length;
    const file = parseSafetensors(
      rawFile(
        {
          u8: { dtype: 'U8', shape: [1], data_offsets: [0, 1] },
          h: { dtype: 'F16', shape: [6], data_offsets: [1, 1 + n16] },
          bh: { dtype: 'BF16', shape: [3], data_offsets: [1 + n16, 1 + n16 + nb] },
          l: { dtype: 'I64', shape: [3], data_offsets: [1 + n16 + nb, 25 + n16 + nb] },
          f: f32([2], 25 + n16 + nb, 33 + n16 + nb),
        },
        data,
      ),
    );
    expect(Array.from(tensorAsFloat32(file.tensors.get('h')!))).toEqual([
      1,
      -2,
      65504,
      2 ** -24,
      Infinity,
      0.333251953125,
    ]);
    expect(Array.from(tensorAsFloat64(file.tensors.get('bh')!))).toEqual([1, -0.5, 3.140625]);
    expect(Array.from(tensorAsInt32(file.tensors.get('l')!))).toEqual([5, -3, 2147483647]);
    expect(Array.from(tensorAsInt32(file.tensors.get('u8')!))).toEqual([9]);
    expect(Array.from(tensorAsFloat32(file.tensors.get('f')!))).toEqual([1.5, -2.25]);
    expect(() => tensorAsInt32(file.tensors.get('f')!)).toThrow(
      /tensor f has dtype F32, which cannot be read as int32/,
    );
    expect(() => tensorAsFloat32(file.tensors.get('l')!)).toThrow(
      /tensor l has dtype I64, which cannot be read as float32/,
    );
  });

  it('rejects I64 values outside int32', () => {
    const d = new DataView(new ArrayBuffer(16));
    d.setBigInt64(8, 1n << 40n, true);
    const file = parseSafetensors(
      rawFile({ l: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, new Uint8Array(d.buffer)),
    );
    expect(() => tensorAsInt32(file.tensors.get('l')!)).toThrow(
      /tensor l \(I64\) element 1 = 1099511627776 does not fit in int32/,
    );
  });

  it('writer rejects bad input', () => {
    expect(() => writeSafetensors([{ name: 'a', dtype: 'F32', shape: [2, 2], data: [1, 2, 3] }])).toThrow(
      /tensor a: 3 values given for shape \[2,2\] \(4 elements\)/,
    );
    expect(() =>
      writeSafetensors([
        { name: 'a', dtype: 'F32', shape: [1], data: [1] },
        { name: 'a', dtype: 'I32', shape: [1], data: [1] },
      ]),
    ).toThrow(/duplicate tensor name a/);
    expect(() => writeSafetensors([{ name: 'i', dtype: 'I32', shape: [1], data: [1.5] }])).toThrow(
      /element 0 = 1.5 is not an int32/,
    );
    expect(() => writeSafetensors([{ name: 'a', dtype: 'F32', shape: [1.5], data: [1] }])).toThrow(
      /non-negative integers/,
    );
  });
});

describe('safetensors malformed input', () => {
  const good = writeSafetensors([{ name: 'w', dtype: 'F32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }]);

  it('file shorter than 8 bytes', () =>
    expectError(new Uint8Array(5), /file is 5 bytes, shorter than the 8-byte header length/));
  it('header length beyond file size', () =>
    expectError(rawFile('{}', [], 100n), /header length 100 is beyond the file size \(10 bytes/));
  it('absurdly large header length', () =>
    expectError(rawFile('{}', [], 1n << 40n), /header length 1099511627776 is absurdly large/));
  it('header not UTF-8', () =>
    expectError(
      rawFile('{}'.replace('}', '\u0000}')).map((b, i) => (i === 9 ? 0xff : b)),
      /header is not valid UTF-8/,
    ));
  it('header not JSON', () => expectError(rawFile('{"a": '), /header is not valid JSON/));
  it('header not an object', () => {
    expectError(rawFile('[1, 2]'), /header is not a JSON object \(got an array\)/);
    expectError(rawFile('null'), /header is not a JSON object \(got null\)/);
    expectError(rawFile('3'), /header is not a JSON object \(got number\)/);
  });
  it('metadata not strings', () =>
    expectError(rawFile({ __metadata__: { a: 1 } }), /__metadata__ value for "a" is not a string/));
  it('entry not an object', () => expectError(rawFile({ w: [1] }), /tensor "w": entry is not an object/));
  for (const key of ['dtype', 'shape', 'data_offsets']) {
    it(`missing ${key}`, () => {
      const entry: Record<string, unknown> = f32([1], 0, 4);
      delete entry[key];
      expectError(rawFile({ w: entry }, [0, 0, 0, 0]), new RegExp(`tensor "w": missing ${key}`));
    });
  }
  it('unknown dtype', () =>
    expectError(rawFile({ w: { ...f32([1], 0, 4), dtype: 'F99' } }, [0, 0, 0, 0]), /tensor "w": unknown dtype "F99"/));
  it('non-integer and negative shapes', () => {
    expectError(
      rawFile({ w: f32([1.5], 0, 4) }, [0, 0, 0, 0]),
      /tensor "w": shape \[1.5\] is not a list of non-negative integers/,
    );
    expectError(
      rawFile({ w: f32([-1], 0, 4) }, [0, 0, 0, 0]),
      /tensor "w": shape \[-1\] is not a list of non-negative integers/,
    );
    expectError(rawFile({ w: { ...f32([1], 0, 4), shape: 4 } }, [0, 0, 0, 0]), /tensor "w": shape 4 is not a list/);
  });
  it('malformed data_offsets', () => {
    expectError(
      rawFile({ w: { ...f32([1], 0, 4), data_offsets: [0] } }, [0, 0, 0, 0]),
      /tensor "w": data_offsets \[0\] is not a pair/,
    );
    expectError(
      rawFile({ w: { ...f32([1], 0, 4), data_offsets: [-4, 0] } }, [0, 0, 0, 0]),
      /data_offsets \[-4,0\] is not a pair of non-negative integers/,
    );
    expectError(
      rawFile({ w: f32([0], 4, 0) }, [0, 0, 0, 0]),
      /tensor "w": data_offsets \[4,0\] out of range \(begin > end\)/,
    );
  });
  it('data_offsets not matching shape and dtype', () =>
    expectError(
      rawFile({ w: f32([3], 0, 8) }, new Array(8).fill(0)),
      /tensor "w": data_offsets \[0,8\] span 8 bytes but shape \[3\] of F32 needs 12/,
    ));
  it('overlapping tensors', () =>
    expectError(
      rawFile({ a: f32([2], 0, 8), b: f32([2], 4, 12) }, new Array(12).fill(0)),
      /tensor "b" data_offsets \[4,12\] overlap tensor "a"/,
    ));
  it('gap in the data section', () =>
    expectError(
      rawFile({ a: f32([1], 0, 4), b: f32([1], 8, 12) }, new Array(12).fill(0)),
      /do not cover the data section: bytes \[4,8\) before tensor "b"/,
    ));
  it('trailing bytes in the data section', () =>
    expectError(
      rawFile({ a: f32([1], 0, 4) }, new Array(12).fill(0)),
      /do not cover the data section: 8 trailing bytes after offset 4/,
    ));
  it('truncated file', () =>
    expectError(
      good.subarray(0, good.length - 4),
      /file truncated: tensor "w" data_offsets \[0,24\] run past the data section \(20 bytes\)/,
    ));
  it('expectTensor names the tensor', () => {
    const file = parseSafetensors(good);
    expect(() => expectTensor(file, 'transformer.h.0.attn.c_attn.weight')).toThrow(
      /^missing tensor transformer.h.0.attn.c_attn.weight$/,
    );
    expect(() => expectTensor(file, 'w', [3, 2])).toThrow(/^tensor w has shape \[2,3\], expected \[3,2\]$/);
    expect(() => expectTensor(file, 'w', [2, 3, 1])).toThrow(SafetensorsError);
  });
});

describe('gpt-tiny fixture and HF GPT-2 naming', () => {
  const file = parseSafetensors(readFileSync(new URL('./fixtures/gpt-tiny.safetensors', import.meta.url)));
  const cfg = configFromHfJson(JSON.parse(file.metadata.config!));

  it('reads known facts', () => {
    expect(cfg).toEqual({ vocabSize: 67, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 32 });
    expectTensor(file, 'param.transformer.wte.weight', [67, 32]);
    expect(expectTensor(file, 'batch1.idx', [2, 16]).dtype).toBe('I32');
    const idx = tensorAsInt32(file.tensors.get('batch1.idx')!);
    expect(idx.every((t) => t >= 0 && t < 67)).toBe(true);
    const loss = expectTensor(file, 'step1.loss', [1]);
    expect(loss.dtype).toBe('F64');
    // A freshly initialised model predicts roughly uniformly: loss near ln(67).
    expect(Math.abs(tensorAsFloat64(loss)[0]! - Math.log(67))).toBeLessThan(0.5);
  });

  it('gpt2ParamShapes matches the fixture param.* tensors exactly', () => {
    const fromFixture = [...file.tensors.values()]
      .filter((t) => t.name.startsWith('param.'))
      .map((t) => [t.name.slice('param.'.length), t.shape] as const);
    const expected = gpt2ParamShapes(cfg).map((p) => [p.name, p.shape] as const);
    const byName = (a: readonly [string, number[]], b: readonly [string, number[]]) => a[0].localeCompare(b[0]);
    expect([...fromFixture].sort(byName)).toEqual([...expected].sort(byName));
    const total = gpt2ParamShapes(cfg).reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
    expect(paramCount(cfg)).toBe(total);
  });

  it('GPT-2 small counts', () => {
    const small = { vocabSize: 50257, blockSize: 1024, nLayer: 12, nHead: 12, nEmbd: 768 };
    expect(paramCount(small)).toBe(124_439_808);
    expect(flopParamCount(small)).toBe(124_439_808 - 1024 * 768);
    expect(trainingFlopsPerToken(small)).toBe(6 * 123_653_376 + 12 * 12 * 1024 * 768);
    expect(trainingFlopsPerToken(small, 256)).toBe(6 * 123_653_376 + 12 * 12 * 256 * 768);
  });

  it('config.json round trip and validation', () => {
    const json = hfConfigJson(cfg);
    expect(json).toMatchObject({
      model_type: 'gpt2',
      architectures: ['GPT2LMHeadModel'],
      vocab_size: 67,
      n_positions: 16,
      n_ctx: 16,
      n_embd: 32,
      n_layer: 2,
      n_head: 2,
      activation_function: 'gelu_new',
      layer_norm_epsilon: 1e-5,
      resid_pdrop: 0,
      embd_pdrop: 0,
      attn_pdrop: 0,
      tie_word_embeddings: true,
      bos_token_id: null,
      eos_token_id: null,
    });
    expect(configFromHfJson(JSON.parse(JSON.stringify(json)))).toEqual(cfg);
    const bad = (patch: Record<string, unknown>, msg: RegExp) =>
      expect(() => configFromHfJson({ ...json, ...patch })).toThrow(msg);
    bad({ model_type: 'llama' }, /model_type is "llama", expected "gpt2"/);
    bad({ vocab_size: undefined }, /config is missing vocab_size/);
    bad({ n_positions: undefined, n_ctx: undefined }, /config is missing n_positions \(or n_ctx, block_size\)/);
    bad({ n_head: 1.5 }, /config n_head is 1.5, expected a positive integer/);
    bad({ n_head: 3 }, /n_embd 32 is not divisible by n_head 3/);
    bad({ activation_function: 'relu' }, /activation "relu" is not supported/);
    bad({ layer_norm_epsilon: 1e-6 }, /layer_norm_epsilon 0.000001 is not supported/);
    bad({ n_inner: 64 }, /n_inner 64 is not supported/);
    bad({ tie_word_embeddings: false }, /untied word embeddings are not supported/);
    bad({ n_ctx: 8 }, /n_positions 16 and n_ctx 8 disagree/);
    expect(() => configFromHfJson('x')).toThrow(HfConfigError);
    expect(() => hfConfigJson({ ...cfg, nLayer: 0 })).toThrow(/nLayer is 0, expected a positive integer/);
  });
});
