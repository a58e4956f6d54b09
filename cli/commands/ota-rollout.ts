// `canopy ota rollout`: flags, the local package check, then runRollout over one MQTT session.
// Exit codes: 0 every targeted device confirmed; 3 halted (now or by an earlier run recorded in the
// state file); 1 the rollout ran to the end but some device did not confirm; an OTA reason code
// when the package is refused on this machine, before any device is touched.
import { Session } from '../../protocol/session/session.ts';
import { Topics } from '../../protocol/topics.ts';
import { SessionDriver } from '../../host/transport.ts';
import { intFlag, UsageError } from '../../host/flags.ts';
import { parse } from '../flags.ts';
import { otaSpecs } from './ota-specs.ts';
import { checkedPackage } from '../../ota/preflight.ts';
import { reportLocalRefusal } from './ota-push.ts';
import { brokerConnection, reportConnectionTrouble } from '../broker-flags.ts';
import { readFleetFile, resolveFleet, runRollout } from '../../ota/rollout.ts';

export const HALTED_CODE = 3;

export async function rolloutCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(otaSpecs.rollout, args);
  if (positionals.length !== 1) throw new UsageError('give exactly one PKG');
  if (!values.broker || !values.fleet) throw new UsageError('--broker and --fleet are required');
  const growth = values.growth === undefined ? 2 : Number(values.growth);
  if (!(growth >= 1)) throw new UsageError('--growth must be a number ≥ 1');
  const canary = intFlag('canary', values.canary, 1, 1);
  const haltRatio = intFlag('halt-percent', values['halt-percent'], 10, 0, 100) / 100;
  const idleTimeoutMs = intFlag('timeout', values.timeout, 120, 1) * 1000;
  const topics = new Topics(values.prefix ?? 'canopy');
  const stateFile = values.state ?? `${positionals[0]}.rollout.json`;
  const conn = brokerConnection('ota rollout', values.broker, values);
  const checked = checkedPackage(positionals[0], values.trust);
  if ('refused' in checked) return reportLocalRefusal('rollout', checked.refused, values.json);
  const { pkg } = checked;
  // A fleet file is read now, so that a bad one is refused before the broker is contacted.
  const listed = values.fleet.startsWith('@') ? readFleetFile(values.fleet.slice(1)) : undefined;

  const driver = new SessionDriver(new Session({ clientId: `canopy-rollout-${Math.random().toString(36).slice(2, 10)}`, cleanSession: false }), conn.address, { tls: conn.tls });
  reportConnectionTrouble('ota rollout', driver);
  driver.start();
  try {
    const fleet = listed ?? (await resolveFleet(values.fleet, driver, topics));
    if (fleet.length === 0) throw new UsageError(`--fleet ${values.fleet} matched no devices`);
    const s = await runRollout(driver, pkg, fleet, {
      canary,
      growth,
      haltRatio,
      stateFile,
      idleTimeoutMs,
      topics,
      retryFailed: values['retry-failed'],
      overrideHalt: values['override-halt'],
      onGroup: (i, g) => !values.json && console.error(`${i === 0 ? 'canary' : `wave ${i}`}: ${g.length} device(s)`),
      onResult: (r) => (values.json ? console.log(JSON.stringify({ device: r.deviceId, final: r.state, reason: r.reasonName, code: r.reason, detail: r.detail })) : console.error(`  ${r.deviceId}: ${r.state}${r.reason ? ` (${r.reasonName})` : ''}`)),
    });
    const by = (st: string) => s.results.filter((r) => r.state === st).length;
    const failures = s.notConfirmed.length - by('refused');
    const code = s.halted ? HALTED_CODE : s.notConfirmed.length > 0 ? 1 : 0;
    if (values.json) {
      console.log(JSON.stringify({ summary: { halted: s.halted !== undefined, haltReason: s.halted?.reason, confirmed: by('confirmed'), refused: by('refused'), failures, notConfirmed: s.notConfirmed, untouched: s.untouched, code } }));
    } else {
      console.log(`${by('confirmed')} confirmed, ${by('refused')} refused, ${failures} failed, rolled back or silent, ${s.untouched.length} untouched`);
      if (s.halted) {
        console.log(
          `HALTED: ${s.halted.reason}. State: ${stateFile}.\n` +
            `  Fix the cause, then rerun with --retry-failed to push again to ${s.halted.failed.join(', ')} first,\n` +
            `  or rerun with --override-halt to continue with the ${s.untouched.length} untouched device(s).`,
        );
      } else if (s.notConfirmed.length) console.log(`not confirmed: ${s.notConfirmed.join(', ')} (rerun with --retry-failed to push to them again)`);
    }
    return code;
  } finally {
    await driver.stop();
  }
}
