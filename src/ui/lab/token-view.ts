/**
 * How a token reads on a chip: whitespace made visible (a space as ·, a newline as ↵, a tab as →),
 * so " the" and "the" look different, as they are different tokens.
 */
import type { TokenPiece } from '../../train/protocol';

const VISIBLE: Record<string, string> = { ' ': '·', '\n': '↵', '\t': '→', '\r': '␍' };

export function visibleToken(text: string): string {
  return text.replace(/[ \n\t\r]/g, (c) => VISIBLE[c]!);
}

/** What a screen reader hears for one chip: its text spelled out where it is whitespace, and its id. */
export function tokenLabel(piece: TokenPiece): string {
  const words = piece.text
    .replace(/ /g, ' space ')
    .replace(/\n/g, ' newline ')
    .replace(/\t/g, ' tab ')
    .replace(/\r/g, ' return ')
    .trim()
    .replace(/\s+/g, ' ');
  return `${words || 'empty'}, id ${piece.id}`;
}

/** "12 tokens (3 in the prompt)". */
export function tokenCountLine(prompt: readonly TokenPiece[], output: readonly TokenPiece[]): string {
  return `${prompt.length + output.length} tokens: ${prompt.length} in the prompt, ${output.length} generated`;
}
