/** The text to show for anything caught: an Error's message, otherwise the thrown value as a string. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
