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

/** applies HEAP_GROWING_PERCENT unless the flag was given; answers the percent in force (undefined: the operator's) */
export function tuneHeap(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
): number | undefined {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].some((a) => /^--heap[-_]growing[-_]percent\b/.test(a));
  if (given) return undefined;
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return HEAP_GROWING_PERCENT;
}
