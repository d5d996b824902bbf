/**
 * Pre-tokenization as GPT-2 (and Hugging Face's ByteLevel pre-tokenizer with use_regex) does it:
 * special tokens are cut out first and never merged across, then the rest is split by GPT-2's
 * regex into words that BPE merges within.
 */

/**
 * Whitespace as Oniguruma (the regex engine of Hugging Face tokenizers) reads `\s` in Unicode
 * mode: tab..CR, NEL, the space separators and the line/paragraph separators. JavaScript's `\s`
 * differs (it has U+FEFF and lacks U+0085), so the class is spelled out.
 */
const WS = '\\t\\n\\v\\f\\r\\u0085\\p{Zs}\\u2028\\u2029';

/** GPT-2's split pattern (contractions, letters, numbers, other symbols, whitespace runs). */
export const GPT2_SPLIT = new RegExp(
  `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^${WS}\\p{L}\\p{N}]+|[${WS}]+(?![^${WS}])|[${WS}]+`,
  'gu',
);

/** Words of a text without special tokens, in order. */
export function splitWords(text: string): string[] {
  return text.match(GPT2_SPLIT) ?? [];
}

export type Piece = { special: true; text: string } | { special: false; text: string };

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Cuts `text` at every occurrence of a special token (longest first when one is a prefix of
 * another); the plain pieces in between are returned for regex splitting.
 */
export function splitSpecial(text: string, specialTokens: readonly string[]): Piece[] {
  if (specialTokens.length === 0) return text ? [{ special: false, text }] : [];
  const pattern = new RegExp(
    [...specialTokens]
      .sort((a, b) => b.length - a.length)
      .map(escapeRegExp)
      .join('|'),
    'g',
  );
  const pieces: Piece[] = [];
  let last = 0;
  for (const m of text.matchAll(pattern)) {
    if (m.index > last) pieces.push({ special: false, text: text.slice(last, m.index) });
    pieces.push({ special: true, text: m[0] });
    last = m.index + m[0].length;
  }
  if (last < text.length) pieces.push({ special: false, text: text.slice(last) });
  return pieces;
}
