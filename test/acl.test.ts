// `canopy acl`: its failure paths, and its device rules against the topic layout the firmware uses.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canopy } from './support/run-canopy.ts';
import { deviceRules, mosquittoAcl } from '../ident/acl.ts';
import { Topics } from '../protocol/topics.ts';
import { OTA_TOPICS } from '../protocol/ota/transfer.ts';
import { topicMatches } from '../protocol/mqtt/topic-filter.ts';

describe('canopy acl', () => {
  it('refuses a missing or unsupported broker kind with exit 2', async () => {
    expect(await canopy('acl')).toMatchObject({ code: 2, err: expect.stringMatching(/^canopy acl: --broker-kind is required \(mosquitto\)/) });
    expect(await canopy('acl', '--broker-kind', 'emqx')).toMatchObject({
      code: 2,
      err: expect.stringMatching(/^canopy acl: --broker-kind "emqx" is not supported yet; only mosquitto \(see docs\/security\.md/),
    });
  });

  it('refuses a user name that could add lines to the ACL file, and a bad prefix, with exit 2', async () => {
    const r = await canopy('acl', '--broker-kind', 'mosquitto', '--technician', 'eve\ntopic readwrite #');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^canopy acl: user name "eve\ntopic readwrite #" must match \[A-Za-z0-9_.-\]\{1,64\}/);
    expect((await canopy('acl', '--broker-kind', 'mosquitto', '--technician', 'x', '--monitor', 'x')).err).toMatch(/x cannot be both technician and monitor/);
    expect((await canopy('acl', '--broker-kind', 'mosquitto', '--prefix', 'a/#')).err).toMatch(/topic prefix level "#" must match/);
  });

  it('refuses an unwritable --out with exit 1, naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'canopy-acl-cli-'));
    try {
      writeFileSync(join(dir, 'file'), '');
      const r = await canopy('acl', '--broker-kind', 'mosquitto', '--out', join(dir, 'file', 'acl.conf'));
      expect(r).toMatchObject({ code: 1, err: `canopy acl: cannot write ${join(dir, 'file', 'acl.conf')}: ENOTDIR` });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("allows a device every topic it publishes and subscribes to in protocol/topics.ts's layout, under any prefix", () => {
    for (const prefix of ['canopy', 'site/a']) {
      const t = new Topics(prefix);
      const rules = deviceRules(prefix).map((r) => ({ ...r, topic: r.topic.replace('%u', 'dev-1') }));
      const allowed = (access: 'read' | 'write', topic: string) => rules.some((r) => r.access === access && topicMatches(r.topic, topic));
      for (const topic of [t.telemetry('dev-1'), t.status('dev-1'), t.event('dev-1', 'motion'), t.ota('dev-1', OTA_TOPICS.request), t.ota('dev-1', OTA_TOPICS.status)]) {
        expect(allowed('write', topic), topic).toBe(true);
      }
      for (const topic of [t.commands('dev-1'), t.ota('dev-1', OTA_TOPICS.offer), t.ota('dev-1', OTA_TOPICS.block)]) expect(allowed('read', topic), topic).toBe(true);
      // and nothing of another device's, nor its own inbound topics for writing
      for (const topic of [t.commands('dev-2'), t.telemetry('dev-2'), t.ota('dev-2', OTA_TOPICS.offer)]) {
        expect(allowed('write', topic) || allowed('read', topic), topic).toBe(false);
      }
      expect(allowed('write', t.commands('dev-1'))).toBe(false);
      expect(allowed('write', t.ota('dev-1', OTA_TOPICS.block))).toBe(false);
    }
    expect(mosquittoAcl({ topicPrefix: 'site/a' })).toContain('pattern write site/a/%u/telemetry');
  });
});
