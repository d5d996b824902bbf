/** The model's shape: a nanoGPT / Hugging Face GPT-2 decoder with tied embeddings and biases. */
export interface GPTConfig {
  vocabSize: number; // V
  blockSize: number; // T max (context length)
  nLayer: number; // L
  nHead: number; // NH
  nEmbd: number; // C
}

/** The post's model: 8 layers, 8 heads, 512 wide, GPT-2's padded vocabulary, 1024 context. */
export const SEED_CONFIG: GPTConfig = { vocabSize: 50304, blockSize: 1024, nLayer: 8, nHead: 8, nEmbd: 512 };

/** Problems with a config, as sentences a person can act on (empty when valid). */
export function configProblems(cfg: GPTConfig): string[] {
  const problems: string[] = [];
  for (const key of ['vocabSize', 'blockSize', 'nLayer', 'nHead', 'nEmbd'] as const) {
    const v = cfg[key];
    if (!Number.isInteger(v) || v < 1) problems.push(`${key} must be a positive integer (got ${v})`);
  }
  if (problems.length === 0 && cfg.nEmbd % cfg.nHead !== 0)
    problems.push(`width ${cfg.nEmbd} is not divisible by ${cfg.nHead} heads`);
  if (problems.length === 0 && cfg.nEmbd / cfg.nHead > 128)
    problems.push(`head size ${cfg.nEmbd / cfg.nHead} is above the supported 128`);
  return problems;
}

export function assertValidConfig(cfg: GPTConfig): void {
  const problems = configProblems(cfg);
  if (problems.length) throw new Error(`invalid model config: ${problems.join('; ')}`);
}
