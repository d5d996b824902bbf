/**
 * "Use this plan" and "The post's recipe" on the lab and Data stores in Node: the Train form gets
 * the plan's shape but keeps its tokenizer's vocabulary (and says so), a token limit beyond the
 * chosen dataset is said in passes, and the recipe fills Data (BookCorpus, 1.1B tokens, a 50,304-token
 * BPE on 100 MB) and Train (the 3.2e17-FLOP model) and says what it would cost on this device.
 */
import { describe, expect, it, vi } from 'vitest';
import { FITS } from '../src/scaling/chinchilla';
import { planForBudget } from '../src/scaling/model-picker';
import { formatRunTime } from '../src/ui/lab/estimate';
import { applyPlan, applyRecipe, postRecipe, stepsForPlan } from '../src/ui/plan/apply-plan';
import { LIMITS, manifestFor, setup, SUGGESTED } from './helpers/lab-store-env';

const POST_PLAN = planForBudget({ flops: 3.2e17, fit: FITS.hoffmann, vocabSize: 50304, blockSize: 1024 });

function targets(env: ReturnType<typeof setup>) {
  const shown: string[] = [];
  return { shown, targets: { lab: env.store, data: env.data, show: (s: string) => shown.push(s) } };
}

async function withTokenizer() {
  const env = setup({
    datasets: (json) =>
      json ? [{ ...manifestFor(json), name: 'Brown corpus, fiction (bundled)', tokens: 330_000 }] : [],
  });
  env.store.getState().init();
  env.send({
    type: 'device',
    report: {
      ok: true,
      adapter: 'SwiftShader Device',
      isSoftware: true,
      limits: LIMITS,
      suggested: SUGGESTED,
      probeGflops: 2,
    },
  });
  await env.data.getState().init();
  await env.data.getState().trainTokenizer(300);
  await vi.waitFor(() => expect(env.data.getState().tokenizer.status).toBe('ready'));
  env.data.getState().refresh();
  await vi.waitFor(() => expect(env.data.getState().datasets).toHaveLength(1));
  return env;
}

describe('applying a plan', () => {
  it("keeps the tokenizer's vocabulary and says the plan assumed another; a token limit past the dataset is said in passes", async () => {
    const env = await withTokenizer();
    const vocab = env.data.getState().tokenizer.vocabSize!;
    const { shown, targets: t } = targets(env);
    applyPlan(t, POST_PLAN);
    const { form, planNotes } = env.store.getState();
    expect(form.model).toEqual({ ...POST_PLAN.config, vocabSize: vocab });
    expect(form.maxSteps).toBe(stepsForPlan(POST_PLAN, SUGGESTED));
    expect(env.data.getState().plannedTokens).toBe(POST_PLAN.tokens);
    expect(shown).toEqual(['train']);
    expect(planNotes).toEqual([
      `The plan assumes 50,304 tokens; your tokenizer has ${vocab.toLocaleString('en-US')}: train a 50,304-token tokenizer in Data.`,
      'Data token limit: 1.1B tokens asked; Brown corpus, fiction (bundled) has 330k: ~3,300 passes over it.',
    ]);
  });

  it("without a tokenizer the form keeps the first tokenizer's size (the bundled corpus cannot reach 50k) and says so", () => {
    const env = setup();
    env.store.getState().init();
    const before = env.store.getState().form.model.vocabSize;
    applyPlan(targets(env).targets, POST_PLAN);
    expect(env.store.getState().form.model.vocabSize).toBe(before);
    expect(env.store.getState().planNotes[0]).toBe(
      'The plan assumes 50,304 tokens; there is no tokenizer yet: train a 50,304-token tokenizer in Data (Train would otherwise make a small one from the bundled corpus).',
    );
    expect(env.store.getState().planNotes[1]).toMatch(
      /^Data token limit: 1\.1B tokens asked; the bundled corpus has 330k: ~3,300 passes over it\.$/,
    );
  });
});

describe("the post's recipe", () => {
  it("fills Data and Train with the post's run, says its time here, and Train then asks first and names the missing dataset", async () => {
    const env = await withTokenizer();
    const vocab = env.data.getState().tokenizer.vocabSize!;
    const { shown, targets: t } = targets(env);
    const { recipe, estimate, summary } = applyRecipe(t);
    expect(shown).toEqual([]); // it stays on the Plan tab, where it says the cost
    expect(env.data.getState()).toMatchObject({
      sourceForm: { choice: 'remote', remote: 'bookcorpus/bookcorpus', tokenLimit: '1100000000' },
      tokenizerForm: { sampleMb: '100', vocab: '50304' },
      plannedTokens: 1_100_000_000,
    });
    const { form } = env.store.getState();
    expect(recipe.plan.params).toBe(48_347_648);
    expect(form.model).toEqual({ ...recipe.plan.config, vocabSize: vocab });
    expect(form.model).toMatchObject({ nLayer: 7, nEmbd: 512, nHead: 8, blockSize: 1024 });
    expect(form.batchSize * form.accumSteps).toBe(64);
    expect(form.maxSteps).toBe(Math.ceil(recipe.plan.tokens / (64 * 1024)));
    expect(form.datasetId).toBe('bookcorpus/bookcorpus');
    expect(env.store.getState().planNotes[0]).toBe(
      "The recipe's tokenizer is not trained yet: in Data, train a 50,304-token BPE on the first 100 MB of bookcorpus/bookcorpus (filled in there), then prepare the dataset.",
    );
    // Its time: the run's FLOPs at half the probe's 2 GFLOP/s.
    const flops = recipe.settings.maxSteps * 64 * 1024 * recipe.plan.trainingFlopsPerToken;
    expect(estimate!.seconds).toBeCloseTo(flops / 1e9, -3);
    expect(formatRunTime(estimate!.seconds)).toBe('12 years');
    expect(summary).toBe(
      `The post's recipe: 7 layers × 512 wide, 48,347,648 parameters, 1.1B tokens of bookcorpus/bookcorpus with a 50,304-token tokenizer from its first 100 MB: about ${formatRunTime(estimate!.seconds)} on this device (software adapter; ${estimate!.basis}).`,
    );

    await env.store.getState().train();
    expect(env.store.getState().confirm!.message).toMatch(
      /^This run would take about \d+ years on this device \(software adapter\)\. Train anyway\?$/,
    );
    await env.store.getState().confirmTrain();
    expect(env.store.getState().error?.message).toBe(
      'The dataset "bookcorpus/bookcorpus" is not prepared yet: prepare it in Data (or pick another dataset), then press Train again.',
    );
    expect(env.posted().some((m) => m.type === 'start')).toBe(false);
  });

  it('picks the largest micro-batch this device binds (64 sequences per step in all)', () => {
    expect(postRecipe().settings).toMatchObject({ batchSize: 16, accumSteps: 4 });
    const h200ish = { maxBufferSize: 2 ** 32, maxStorageBufferBindingSize: 2 ** 31 };
    expect(postRecipe(h200ish).settings).toMatchObject({ batchSize: 8, accumSteps: 8 });
  });
});
