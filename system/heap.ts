import v8 from 'node:v8';

/**
 * How far V8 lets the old generation grow past what survived the last full GC before it collects
 * again: 25 % here, instead of V8's own factor (up to 4× for a busy heap). A serving node keeps
 * ~30 MB live; the garbage of 10,000 tokens refreshed a minute piled up to ~280 MB RSS between full
 * GCs with V8's factor and peaks at ~155 MB with this one, for the same refresh rate and CPU (README,
 * Benchmark). Set when `serve` starts; an operator's own `--heap-growing-percent` (node flag or
 * NODE_OPTIONS) wins, and `--max-old-space-size` still bounds the heap as usual.
 */
export const HEAP_GROWING_PERCENT = 25;

/**
 * The flags `serve` sets when it starts, unless the operator gave the same flag (either polarity,
 * `-` or `_`), as a node flag or in NODE_OPTIONS:
 *
 * - `--heap-growing-percent` (above);
 * - `--no-allocation-site-pretenuring`: V8 allocates the objects of an allocation site straight in
 *   the old generation once enough of them survived young collections. Under load many of a
 *   request's objects outlive a scavenge while the request is in flight, so sites of per-request
 *   objects got pretenured — and from then on every request left its garbage in the old generation:
 *   a full GC every ~180 ms (14 MB a time), 9–15 % of the time in GC pauses, twice the CPU per
 *   request and a p99 of 10–16 ms, for the rest of the node's life (the "worked node" of issue 14;
 *   `--trace-gc` in the bench, README § Benchmark). Without it: 0–1 full GCs per load, ~2 % in GC.
 */
export const HEAP_FLAGS = [`--heap-growing-percent=${HEAP_GROWING_PERCENT}`, '--no-allocation-site-pretenuring'];

/** a V8 flag's name without dashes, `no-`, value: `--no-allocation_site-pretenuring` → `allocation-site-pretenuring` */
function flagName(arg: string): string {
  return arg.replace(/^--?/, '').replace(/=.*$/, '').replace(/_/g, '-').replace(/^no-/, '');
}

/** applies the HEAP_FLAGS the operator did not give (through `set`: V8's); answers those applied */
export function tuneHeap(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
  set: (flag: string) => void = (flag) => v8.setFlagsFromString(flag),
): string[] {
  const given = new Set([...execArgv, ...nodeOptions.split(/\s+/)].filter((a) => a.startsWith('-')).map(flagName));
  const applied = HEAP_FLAGS.filter((f) => !given.has(flagName(f)));
  for (const f of applied) set(f);
  return applied;
}
