/** A byte-level BPE tokenizer's data, as trained or as read from a tokenizer.json. */
export interface BpeModel {
  /** Token (in the byte-level alphabet, or a special token's text) -> id. */
  vocab: Map<string, number>;
  /** Merges in rank order: [left, right] tokens whose concatenation is a vocab entry. */
  merges: [string, string][];
  /** Special tokens (e.g. <|endoftext|>): matched in raw text before pre-tokenization. */
  specialTokens: { content: string; id: number }[];
  /** Hugging Face's ByteLevel add_prefix_space: a space is put before each piece of text that lacks one. */
  addPrefixSpace?: boolean;
}

export const END_OF_TEXT = '<|endoftext|>';

export class TokenizerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenizerError';
  }
}
