/**
 * What the page needs to know about a tokenizer.json without loading the tokenizer itself (that
 * happens in the workers): its vocabulary size.
 */

/** Distinct token ids in a tokenizer.json (model.vocab plus added tokens); throws if it is not one. */
export function vocabSizeOf(json: string): number {
  const root = JSON.parse(json) as { model?: { vocab?: unknown }; added_tokens?: unknown };
  const vocab = root?.model?.vocab;
  if (!vocab || typeof vocab !== 'object') throw new Error('this is not a tokenizer.json: model.vocab is missing');
  const ids = new Set<number>();
  for (const id of Object.values(vocab)) if (typeof id === 'number') ids.add(id);
  // Added (special) tokens may be missing from model.vocab but still take an id.
  if (Array.isArray(root.added_tokens)) {
    for (const token of root.added_tokens as { id?: unknown }[]) if (typeof token?.id === 'number') ids.add(token.id);
  }
  return ids.size;
}
