/**
 * KV-cache attention for sampling (forward only). Inputs: qkv [1, Tq, 3C] of Tq new tokens at absolute
 * positions pos..pos+Tq-1, kCache and vCache [NH, maxT, HS], pos i32 [1]. Output y [1, Tq, C].
 *
 * SIDE EFFECT: the op MUTATES kCache and vCache (graph 'input' tensors, bound read_write): its first
 * dispatch writes the new k, v rows at positions pos..pos+Tq-1 (rows past maxT are dropped; keep
 * pos + Tq <= maxT), the second (so the writes are visible) lets query i attend causally over cache
 * positions [0, pos + i]. Share the cache buffers between plans (prefill, step) with Plan's `external`.
 */
import source from '../../../shaders/attention_decode.wgsl?raw';
import { grid1d, packUniforms } from '../../gpu/uniforms';
import type { OpDef } from '../op';
import { assertShape, shapeString } from '../op';
import type { Tensor } from '../tensor';
import { type AttentionAttrs, attentionDims } from './attention';

/** Written once here, passed to attention_decode.wgsl as overrides; CHUNK also bounds the head size (one thread per dim). */
export const ATTENTION_DECODE_SIZES = { WRITE_WG: 256, CHUNK: 128 } as const;

export const attentionDecodeOp: OpDef<AttentionAttrs> = {
  name: 'attention_decode',
  outputs: ([qkv, kCache, vCache, pos], { nHead }) => {
    const { B, T, C, NH, HS } = attentionDims('attention_decode', qkv!, nHead);
    assertShape(B === 1, 'attention_decode', `qkv must be [1, Tq, 3C], got ${shapeString(qkv!.shape)}`);
    // Its shader reads f32 qkv only: sampling runs in f32 (a mixed model's f16 qkv would be misread).
    assertShape(qkv!.dtype === 'f32', 'attention_decode', `qkv must be f32 (sampling runs in f32), got ${qkv!.dtype}`);
    for (const [name, cache] of [
      ['kCache', kCache!],
      ['vCache', vCache!],
    ] as const)
      assertShape(
        cache.shape.length === 3 && cache.shape[0] === NH && cache.shape[2] === HS && cache.dtype === 'f32',
        'attention_decode',
        `${name} must be f32 [NH=${NH}, maxT, HS=${HS}], got ${shapeString(cache.shape)}`,
      );
    assertShape(kCache!.shape[1] === vCache!.shape[1], 'attention_decode', 'kCache and vCache differ in maxT');
    assertShape(
      HS <= ATTENTION_DECODE_SIZES.CHUNK,
      'attention_decode',
      `head size ${HS} is past the ${ATTENTION_DECODE_SIZES.CHUNK} decoding supports`,
    );
    assertShape(T <= kCache!.shape[1]!, 'attention_decode', `Tq = ${T} exceeds the cache length ${kCache!.shape[1]}`);
    assertShape(
      pos!.dtype === 'i32' && pos!.shape.length === 1 && pos!.shape[0] === 1,
      'attention_decode',
      'pos must be i32 [1]',
    );
    return [{ shape: [1, T, C], dtype: 'f32' }];
  },
  encode: ([qkv, kCache], { nHead }) => {
    const { T, C, NH, HS } = attentionDims('attention_decode', qkv!, nHead);
    const params = packUniforms([
      ['u32', T],
      ['u32', kCache!.shape[1]!],
      ['u32', C],
      ['u32', NH],
      ['u32', HS],
      ['f32', 1 / Math.sqrt(HS)],
    ]);
    return [
      {
        label: 'attention',
        code: source,
        entryPoint: 'attention_decode_write',
        constants: ATTENTION_DECODE_SIZES,
        buffers: [{ in: 0 }, { in: 1 }, { in: 2 }, { in: 3 }],
        params,
        workgroups: grid1d(Math.ceil((T * C) / ATTENTION_DECODE_SIZES.WRITE_WG)),
      },
      {
        label: 'attention',
        code: source,
        entryPoint: 'attention_decode',
        constants: ATTENTION_DECODE_SIZES,
        buffers: [{ in: 0 }, { in: 1 }, { in: 2 }, { in: 3 }, { out: 0 }],
        params,
        workgroups: [NH, T, 1],
      },
    ];
  },
};

/**
 * Attention of Tq new tokens (qkv [1, Tq, 3C]) over the KV caches, which it extends in place;
 * pos (i32 [1]) is the absolute position of the first new token. Returns y [1, Tq, C].
 */
export function attentionDecode(qkv: Tensor, kCache: Tensor, vCache: Tensor, pos: Tensor, nHead: number): Tensor {
  return qkv.graph.apply1(attentionDecodeOp, [qkv, kCache, vCache, pos], { nHead });
}
