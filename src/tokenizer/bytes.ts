/**
 * GPT-2's byte-level alphabet: every byte gets a printable Unicode character, so BPE works on
 * strings without ever splitting a UTF-8 sequence badly. Printable Latin-1 bytes map to themselves;
 * the other 68 (controls, space, soft hyphen...) map to U+0100 and up, in byte order.
 */
function buildByteToChar(): string[] {
  const table = new Array<string>(256);
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    table[b] = String.fromCharCode(printable ? b : next++);
  }
  return table;
}

/** byte -> its alphabet character */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** alphabet character -> byte */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

/** The 256 alphabet characters sorted by code point: the order Hugging Face's trainer gives them ids. */
export const SORTED_ALPHABET: readonly string[] = [...BYTE_TO_CHAR].sort((a, b) => a.charCodeAt(0) - b.charCodeAt(0));

const encoder = new TextEncoder();

/** UTF-8 bytes of `text` written in the byte-level alphabet. */
export function toByteLevel(text: string): string {
  let out = '';
  for (const b of encoder.encode(text)) out += BYTE_TO_CHAR[b];
  return out;
}
