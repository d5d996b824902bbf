/**
 * What "Use this plan" and "The post's recipe" do to the lab: fill the Train form (its vocabulary
 * stays the tokenizer's, and a plan that assumed another one says so), the Data tab's token limit
 * (said when the chosen dataset holds fewer tokens) and, for the recipe, the Data tab's source and
 * tokenizer card; then show the Train tab. Works on the stores, so tests drive it in Node.
 */
import type { StoreApi } from 'zustand/vanilla';
import { FITS } from '../../scaling/chinchilla';
import { formatCount } from '../../scaling/format';
import { planForBudget, type TrainingPlan } from '../../scaling/model-picker';
import { settingsProblems } from '../../train/defaults';
import type { RunSettings } from '../../train/protocol';
import type { DataState } from '../data/data-store';
import { hubSourceForm } from '../data/source-form';
import { chosenDataset, formatRunTime, passesNote, runEstimate, vocabNote, type RunEstimate } from '../lab/estimate';
import { usableDatasets } from '../lab/first-run';
import type { LabState } from '../lab/lab-state';

export interface PlanTargets {
  lab: StoreApi<LabState>;
  data: StoreApi<DataState>;
  /** Shows a lab section ('train'). */
  show(section: string): void;
}

/** Steps of the current form's batch shape that train on `plan.tokens` tokens. */
export function stepsForPlan(plan: TrainingPlan, form: { batchSize: number; accumSteps: number }): number {
  return Math.max(1, Math.ceil(plan.tokens / (form.batchSize * form.accumSteps * plan.config.blockSize)));
}

function tokenizerVocab(data: DataState): number | null {
  return data.tokenizer.status === 'ready' ? data.tokenizer.vocabSize : null;
}

/** The notes for a plan of `tokens` tokens at `planVocab`, against the tokenizer and the form's dataset. */
function notesFor(targets: PlanTargets, planVocab: number, tokens: number, datasetId: string): string[] {
  const data = targets.data.getState();
  const usable = data.tokenizer.json ? usableDatasets(data.datasets, data.tokenizer.json) : [];
  const passes = passesNote(tokens, chosenDataset(datasetId, usable, data.datasets));
  return [vocabNote(planVocab, tokenizerVocab(data)), passes && `Data token limit: ${passes} over it.`].filter(
    (n): n is string => !!n,
  );
}

/** "Use this plan": the plan's shape and steps in the Train form (the vocabulary stays), its tokens as the Data limit. */
export function applyPlan(targets: PlanTargets, plan: TrainingPlan): void {
  const lab = targets.lab.getState();
  const maxSteps = stepsForPlan(plan, lab.form);
  // A short plan would leave the form's warmup as long as the run (flagged, Train off): a tenth of it instead.
  const warmup = lab.form.lr.warmupSteps;
  const shortened = warmup >= maxSteps ? Math.floor(maxSteps / 10) : null;
  // Without a tokenizer the form's size is the first one's: a plan's 50k would not fit the bundled corpus.
  lab.setForm({
    model: { ...plan.config, vocabSize: lab.form.model.vocabSize },
    maxSteps,
    ...(shortened === null ? {} : { lr: { warmupSteps: shortened } }),
  });
  targets.data.getState().setPlannedTokens(plan.tokens);
  const notes = notesFor(targets, plan.config.vocabSize, plan.tokens, lab.form.datasetId);
  if (shortened !== null)
    notes.push(`Warmup shortened from ${warmup} to ${shortened} steps: the plan is ${maxSteps} steps.`);
  lab.setPlanNotes(notes);
  targets.show('train');
}

/** The post: 3.2e17 FLOPs, GPT-2's padded vocabulary and 1024 context, BookCorpus, a BPE trained on 100 MB of it. */
export const POST_RECIPE = {
  flops: 3.2e17,
  vocabSize: 50_304,
  blockSize: 1024,
  dataset: 'bookcorpus/bookcorpus',
  datasetTokens: 1.1e9,
  sampleMb: 100,
  /** Sequences per optimizer step (micro-batch × accumulation): 65,536 tokens at T = 1024. */
  sequencesPerStep: 64,
} as const;

export interface Recipe {
  plan: TrainingPlan;
  settings: RunSettings;
}

/** The recipe's model (the plan at its budget, Hoffmann's fit) and run settings; the micro-batch is the largest this device binds. */
export function postRecipe(limits?: Parameters<typeof settingsProblems>[1]): Recipe {
  const r = POST_RECIPE;
  const plan = planForBudget({ flops: r.flops, fit: FITS.hoffmann, vocabSize: r.vocabSize, blockSize: r.blockSize });
  const make = (batchSize: number): RunSettings => {
    const accumSteps = r.sequencesPerStep / batchSize;
    const maxSteps = stepsForPlan(plan, { batchSize, accumSteps });
    return {
      model: plan.config,
      batchSize,
      accumSteps,
      maxSteps,
      lr: { maxLr: 6e-4, minLr: 6e-5, warmupSteps: Math.min(2000, Math.round(maxSteps / 20)) },
      weightDecay: 0.1,
      gradClip: 1,
      evalEvery: 250,
      evalBatches: 16,
      checkpointEvery: 250,
      seed: 1337,
      datasetId: r.dataset,
    };
  };
  const sizes = [16, 8, 4, 2];
  const batch = sizes.find((b) => settingsProblems(make(b), limits).length === 0) ?? 1;
  return { plan, settings: make(batch) };
}

/** "The post's recipe": the dataset, its tokenizer and token limit in Data; the model and budget in Train. Returns what it costs here. */
export function applyRecipe(targets: PlanTargets): { recipe: Recipe; estimate: RunEstimate | null; summary: string } {
  const lab = targets.lab.getState();
  const recipe = postRecipe(lab.device.report?.limits);
  const r = POST_RECIPE;
  targets.data.getState().applyRecipe({
    source: hubSourceForm(r.dataset),
    maxTokens: r.datasetTokens,
    tokenizer: { sampleMb: r.sampleMb, vocabSize: r.vocabSize },
  });
  const { model, ...rest } = recipe.settings;
  // The vocabulary follows once the recipe's tokenizer is trained in Data (setForm keeps the tokenizer's).
  lab.setForm({ ...rest, model: { ...model, vocabSize: lab.form.model.vocabSize } });
  const notes = notesFor(targets, r.vocabSize, recipe.plan.tokens, r.dataset);
  const vocab = tokenizerVocab(targets.data.getState());
  if (vocab !== r.vocabSize) {
    notes.splice(
      0,
      1,
      `The recipe's tokenizer is not trained yet: in Data, train a ${r.vocabSize.toLocaleString('en-US')}-token BPE on the first ${r.sampleMb} MB of ${r.dataset} (filled in there), then prepare the dataset.`,
    );
  }
  lab.setPlanNotes(notes);
  const estimate = runEstimate(recipe.settings, lab.device.report, lab.measuredSpeed);
  const { config } = recipe.plan;
  const time = estimate
    ? `about ${formatRunTime(estimate.seconds)} on this device (${estimate.device}; ${estimate.basis})`
    : 'a time on this device once it is measured';
  const summary =
    `The post's recipe: ${config.nLayer} layers × ${config.nEmbd} wide, ${recipe.plan.params.toLocaleString('en-US')} parameters, ` +
    `${formatCount(recipe.plan.tokens)} tokens of ${r.dataset} with a ${r.vocabSize.toLocaleString('en-US')}-token tokenizer from its first ${r.sampleMb} MB: ${time}.`;
  return { recipe, estimate, summary };
}
