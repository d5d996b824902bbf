/** Tests use the engine's seeded generators so failures reproduce. */
export { rng, randn, randint } from '../../src/util/random';
