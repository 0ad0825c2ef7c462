/**
 * Benchmark honesty (issue 11 item 7): the verdicts the bench prints, from the numbers it measured.
 * No load is run here: the rows are what autocannon would report.
 */
import { expect } from 'chai';
import type { LoadResult } from '../../bench/load';
import { gcLines, gcWindow, parseGcTotals } from '../../bench/gc';
import { table, verdict, verdictText, type Row } from '../../bench/report';
import { soakProblems } from '../../bench/soak';
import { classifyBody, type SoakPhase } from '../../bench/soak-load';

const result = (o: Partial<LoadResult> = {}): LoadResult => ({
  requestsPerSec: 20_000,
  total: 100_000,
  warmupTotal: 40_000,
  p50: 2,
  p99: 5,
  errors: 0,
  timeouts: 0,
  non2xx: 0,
  mismatches: 0,
  ...o,
});
const BARE = { requestsPerSec: 36_098, p50: 1, p99: 3 };
const last = (text: string) =>
  text
    .split('\n')
    .slice(2)
    .map((l) => l.split(/\s{2,}/).pop());

describe('bench verdicts (issue 11 item 7)', () => {
  it('46 % against a >= 50 % target is MISSED (no "borderline"); 54 % is met', () => {
    const missed: Row = { scenario: 'auth MariaDB', result: result({ requestsPerSec: 16_449 }), targetPct: 50 };
    const met: Row = { scenario: 'auth SQLite', result: result({ requestsPerSec: 19_637 }), targetPct: 50 };
    expect(verdict(missed, BARE)).to.include({ met: false, failedRequests: 0 });
    expect(verdict(met, BARE)).to.include({ met: true, failedRequests: 0 });
    expect(last(table([missed, met], BARE, 29.4))).to.deep.equal(['MISSED', 'met']);
  });

  it('a row with failed requests never prints "met": errors, timeouts, non-2xx and bad bodies each make it a miss', () => {
    for (const bad of [{ errors: 3 }, { errors: 2, timeouts: 2 }, { non2xx: 1 }, { mismatches: 7 }]) {
      const row: Row = {
        scenario: 'fast but wrong',
        result: result({ requestsPerSec: 30_000, ...bad }),
        targetPct: 50,
        targetP99x: 2,
      };
      const v = verdict(row, BARE);
      expect(v.met, JSON.stringify(bad)).to.equal(false);
      expect(v.failedRequests).to.be.greaterThan(0);
      const text = table([row], BARE, 29.4);
      expect(text, JSON.stringify(bad)).to.not.match(/\bmet\b/);
      expect(last(text)).to.deep.equal([`MISSED: FAILED REQUESTS (${v.failedRequests})`]);
    }
  });

  it('a row without a target but with failed requests says so; without a baseline it is still not met', () => {
    const row: Row = { scenario: 'pushes', result: result({ non2xx: 4 }) };
    expect(verdictText(row, verdict(row, BARE))).to.equal('FAILED REQUESTS (4)');
    expect(verdict(row, undefined)).to.deep.equal({ failedRequests: 4, met: false });
    expect(verdict({ scenario: 'clean', result: result() }, BARE).met).to.equal(undefined);
  });

  it('the table shows the errors, non-2xx and bad-body columns with their numbers', () => {
    const text = table(
      [{ scenario: 'x', result: result({ errors: 1, non2xx: 2, mismatches: 3 }), targetPct: 50 }],
      BARE,
      29.4,
    );
    const [head, , row] = text.split('\n');
    const cols = head.split(/\s{2,}/);
    const cells = row.split(/\s{2,}/);
    expect(cells[cols.indexOf('errors')]).to.equal('1');
    expect(cells[cols.indexOf('non-2xx')]).to.equal('2');
    expect(cells[cols.indexOf('bad body')]).to.equal('3');
  });
});

describe('soak verdicts (issue 11 item 7)', () => {
  const phase = (o: Partial<SoakPhase> = {}): SoakPhase => ({
    requestsPerSec: 1800,
    total: 540_000,
    p50: 2,
    p99: 10,
    max: 40,
    errors: 0,
    timeouts: 0,
    non2xx: 0,
    s5xx: 0,
    badBodies: 0,
    nonZero: 0,
    statusCodes: { 200: 540_000 },
    ...o,
  });
  const kind = (name: string, measured = phase()) => ({ name, result: { measured } });

  it('an error envelope (returnCode 1001 …) fails the RPC check; a non-envelope is a bad body', () => {
    const rpc = { check: 'envelope' as const };
    expect(classifyBody(rpc, '{"returnCode":0,"returnMessage":"OK","returnData":{}}')).to.equal('ok');
    expect(classifyBody(rpc, '{"returnCode":1001,"returnMessage":"UPSTREAM_FAILED","returnData":null}')).to.equal(
      'error envelope',
    );
    expect(classifyBody(rpc, '{"returnCode":"0"}')).to.equal('bad body');
    expect(classifyBody(rpc, '<html>')).to.equal('bad body');
    expect(classifyBody({ check: 'exact', expect: 'success' }, 'success')).to.equal('ok');
    expect(classifyBody({ check: 'exact', expect: 'success' }, 'fail')).to.equal('bad body');
  });

  it('met only with no failed request of any kind and RSS growth within the target', () => {
    expect(soakProblems([kind('auth'), kind('token')], { died: false, growthPct: 5.7 })).to.deep.equal([]);
    expect(
      soakProblems([kind('auth', phase({ nonZero: 12 })), kind('token')], { died: false, growthPct: 5.7 }),
    ).to.deep.equal(['12 error envelopes (returnCode != 0)']);
    expect(soakProblems([kind('auth', phase({ non2xx: 3, s5xx: 0 }))], { died: false, growthPct: 1 })).to.deep.equal([
      '3 non-2xx (0 of them 5xx)',
    ]);
    expect(
      soakProblems([kind('auth', phase({ non2xx: 2, s5xx: 2, badBodies: 1, errors: 4, timeouts: 4 }))], {
        died: false,
        growthPct: 1,
      }),
    ).to.deep.equal(['2 non-2xx (2 of them 5xx)', '1 bad bodies', '4 connection errors/timeouts']);
    expect(
      soakProblems([{ name: 'proxy', failed: 'load process exited 1' }, kind('auth')], { died: true, growthPct: 12 }),
    ).to.deep.equal(['proxy did not run', 'gatehouse died', 'RSS growth 12.0 % > 10 %']);
  });
});

describe('bench GC figures (issue 14: the worked node)', () => {
  const exposition = (major: number, minor: number, seconds: [number, number, number]) =>
    [
      '# HELP gatehouse_nodejs_gc_duration_seconds Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
      '# TYPE gatehouse_nodejs_gc_duration_seconds histogram',
      'gatehouse_nodejs_gc_duration_seconds_bucket{le="0.001",kind="minor"} 3',
      `gatehouse_nodejs_gc_duration_seconds_sum{kind="minor"} ${seconds[0]}`,
      `gatehouse_nodejs_gc_duration_seconds_count{kind="minor"} ${minor}`,
      `gatehouse_nodejs_gc_duration_seconds_sum{kind="major"} ${seconds[1]}`,
      `gatehouse_nodejs_gc_duration_seconds_count{kind="major"} ${major}`,
      `gatehouse_nodejs_gc_duration_seconds_sum{kind="incremental"} ${seconds[2]}`,
      'gatehouse_nodejs_gc_duration_seconds_count{kind="incremental"} 9',
      'gatehouse_process_cpu_seconds_total 12.5',
      'gatehouse_nodejs_heap_size_used_bytes 33554432',
      'gatehouse_nodejs_heap_space_size_used_bytes{space="new"} 1048576',
      'gatehouse_nodejs_heap_space_size_used_bytes{space="old"} 26214400',
      'gatehouse_nodejs_external_memory_bytes 3250586',
    ].join('\n');

  it('sums the pauses of every kind and counts full collections and scavenges apart', () => {
    expect(parseGcTotals(exposition(2, 40, [0.25, 0.5, 0.125]))).to.deep.equal({
      seconds: 0.875,
      major: 2,
      minor: 40,
      heapUsed: 33554432,
      oldUsed: 26214400,
      external: 3250586,
    });
    expect(parseGcTotals('gatehouse_process_cpu_seconds_total 1\n')).to.equal(undefined);
  });

  it('a window: the share of its wall time in pauses, and the collections in it', () => {
    const before = parseGcTotals(exposition(2, 40, [0.25, 0.5, 0.125]));
    const after = parseGcTotals(exposition(5, 140, [0.5, 1.0, 0.375]));
    expect(gcWindow(before, after, 10_000)).to.deep.equal({
      sharePct: 10,
      major: 3,
      minor: 100,
      heapMb: 32,
      oldMb: 25,
      externalMb: 3.1,
    });
    expect(gcWindow(undefined, after, 10_000)).to.equal(undefined);
    expect(
      gcLines([
        { scenario: 'gatehouse   SQLite auth', gc: { sharePct: 10, major: 3, minor: 100 } },
        { scenario: 'bare' },
      ]),
    ).to.deep.equal(['  gatehouse SQLite auth: 10.0 % of the time in GC pauses, 3 full (mark-compact), 100 scavenges']);
  });
});
