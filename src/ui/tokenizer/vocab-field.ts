/**
 * What the tokenizer card's vocabulary field shows: the size of the tokenizer in use when there is
 * one and nobody asked for another (the store's default, 16,384, would otherwise sit beside a
 * tokenizer of 18,447), and the size asked for (typed, or filled by the post's recipe) for a new training.
 */
import { initialTokenizerForm } from '../data/data-store';

export function shownVocab(formVocab: string, tokenizerVocab: number | null, edited: boolean): string {
  if (tokenizerVocab === null || edited || formVocab !== initialTokenizerForm.vocab) return formVocab;
  return String(tokenizerVocab);
}
