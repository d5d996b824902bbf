/**
 * Streaming decoding for generated tokens: a token may end in the middle of a UTF-8 sequence
 * (byte-level BPE splits characters freely), so text is released only once a character is whole.
 */

export interface StreamDecoder {
  /** Text newly completed by this token; an unfinished trailing UTF-8 sequence is held back. */
  push(id: number): string;
  /** The rest of the text (U+FFFD for an unfinished sequence); the decoder is then empty again. */
  flush(): string;
}

/**
 * A stream decoder over `bytesOf` (token id -> its bytes, throwing on an unknown id). TextDecoder's
 * streaming mode holds back exactly an incomplete trailing sequence, and the WHATWG encoding spec
 * makes the concatenated output equal a one-shot decode of all the bytes, so streamed and
 * decode() text always agree. ignoreBOM keeps a leading U+FEFF that was part of the text.
 */
export function createStreamDecoder(bytesOf: (id: number) => Uint8Array): StreamDecoder {
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  return {
    push: (id) => decoder.decode(bytesOf(id), { stream: true }),
    flush: () => decoder.decode(),
  };
}
