// FC_NUM_RUNS / FC_SEED: `npm test` uses a fast default, `npm run fuzz` a long one.
import fc from 'fast-check';

const numRuns = Number(process.env.FC_NUM_RUNS ?? 200);
const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
fc.configureGlobal({ numRuns, ...(seed === undefined ? {} : { seed }) });
