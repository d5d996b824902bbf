/** Tells tokenizers apart: datasets and runs are tied to the tokenizer that made their ids. */

/** FNV-1a of a tokenizer.json text: cheap, stable, enough to tell tokenizers apart. */
export function fingerprint(text: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
  }
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
}

/** How a dataset id ends when it names its tokenizer: "@" and the fingerprint's first 8 hex digits. */
const TOKENIZER_SUFFIX = /@[0-9a-f]{8}$/;

/**
 * The id a dataset of `base` gets under a tokenizer: "bundled-brown-fiction@1a2b3c4d". A source
 * tokenized again with another tokenizer gets another id, so the old tokens stay for the runs on them.
 */
export function datasetIdFor(base: string, tokenizerFingerprint: string): string {
  return `${datasetBase(base)}@${tokenizerFingerprint.slice(0, 8)}`;
}

/** The id without its tokenizer part (ids made before they carried one are their own base). */
export function datasetBase(id: string): string {
  return id.replace(TOKENIZER_SUFFIX, '');
}
