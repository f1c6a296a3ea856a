// The NATS archive on the command line: `archive pull` of a search (incremental), and clear
// errors when NATS is missing or an option is wrong.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openNatsArchive } from '../../shared-fs/nats/index.js';
import { startNatsServer, type NatsServer } from '../../stack/nats-server.js';
import { tempDir } from '../support/swarm.js';
import { runCli } from './run-cli.js';

let nats: NatsServer;
beforeAll(async () => {
  const dir = await tempDir('metaswarm-nats-');
  nats = await startNatsServer({ storeDir: dir, stateDir: dir, stopGraceMs: 2_000 });
});
afterAll(async () => {
  await nats?.stop();
});

describe('metaswarm archive pull', () => {
  it('copies a search out of the store, then only what changed', async () => {
    const writer = await openNatsArchive({ servers: nats.url, bucket: 'pulltest', mirrorRoot: await tempDir() });
    try {
      await writer.writeFile('s1/summary.jsonl', '{"id":"seed-0"}\n');
      await writer.writeFile('s1/candidates/seed-0/meta.json', '{"id":"seed-0"}\n');
      await writer.writeFile('s1/candidates/seed-0/harness/main.py', 'print("hi")\n');
      await writer.writeFile('other/summary.jsonl', 'not this search\n');
      const dir = await tempDir();
      const env = { NATS_URL: nats.url, METASWARM_HOME: dir };
      const first = await runCli(['archive', 'pull', 's1', dir, '--bucket', 'pulltest', '--json'], env);
      expect(first.exitCode, first.stderr).toBe(0);
      expect(JSON.parse(first.stdout)).toMatchObject({ downloaded: 4, failed: [] }) // its three files and the candidate's manifest;
      expect(await readFile(path.join(dir, 's1/candidates/seed-0/harness/main.py'), 'utf8')).toBe('print("hi")\n');
      await expect(readFile(path.join(dir, 'other/summary.jsonl'))).rejects.toThrow();

      await writer.writeFile('s1/summary.jsonl', '{"id":"seed-0"}\n{"id":"l0-s0001-p0"}\n');
      await writeFile(path.join(dir, 's1/candidates/seed-0/meta.json'), 'edited locally\n');
      const second = await runCli(['archive', 'pull', 's1', dir, '--bucket', 'pulltest', '--json'], env);
      expect(second.exitCode, second.stderr).toBe(0);
      // The changed summary and the locally edited file come again; the harness does not.
      expect(JSON.parse(second.stdout)).toMatchObject({ downloaded: 2, unchanged: 2 });
      expect(await readFile(path.join(dir, 's1/candidates/seed-0/meta.json'), 'utf8')).toBe('{"id":"seed-0"}\n');
    } finally {
      await writer.close();
    }
  });

  it('says what is missing', async () => {
    const dir = await tempDir();
    const noNats = await runCli(['archive', 'pull', 's1', dir], { METASWARM_HOME: dir, NATS_URL: undefined });
    expect(noNats.exitCode).toBe(1);
    expect(noNats.stderr).toMatch(/no NATS to pull from: set NATS_URL/);

    const unknown = await runCli(['archive', 'pull', 'nope', dir, '--bucket', 'pulltest'], { METASWARM_HOME: dir, NATS_URL: nats.url });
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toMatch(/holds nothing for search nope/);

    const badId = await runCli(['archive', 'pull', '../etc', dir], { METASWARM_HOME: dir, NATS_URL: nats.url });
    expect(badId.exitCode).toBe(1);
    expect(badId.stderr).toMatch(/search id "\.\.\/etc" is not a valid id/);
  });
});

describe('--archive nats', () => {
  it('a worker without NATS says how to give it one; a bad backend is named', async () => {
    const dir = await tempDir();
    const worker = await runCli(['worker', '--role', 'evaluator', '--archive', 'nats'], {
      METASWARM_HOME: dir,
      NATS_URL: undefined,
      TEMPORAL_ADDRESS: '127.0.0.1:1',
    });
    expect(worker.exitCode).toBe(1);
    expect(worker.stderr).toMatch(/no NATS for the archive: set NATS_URL/);

    const bad = await runCli(['worker', '--archive', 'nfs'], { METASWARM_HOME: dir, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/--archive is "nfs": use `nats` or `local`/);

    const stray = await runCli(['archive', 'pull', 's1', dir], { METASWARM_HOME: dir, NATS_URL: undefined, NATS_CREDS: '/x.creds' });
    expect(stray.stderr).toMatch(/NATS_CREDS is set but NATS_URL is not/);
  });
});
