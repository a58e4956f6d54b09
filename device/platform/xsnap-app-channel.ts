// The "app" channel of a simulated device: the host (sim/xs-device.ts) sends start, stop, sample
// and stats over it. One definition for the built-in sensor-node's entry (device/xsnap-main.ts)
// and for any app's runFirmware on the simulator (device/platform/xsnap-firmware.ts).
import { utf8Decode, utf8Encode } from 'protocol/utf8';
import type { DeviceApp } from 'device/app/device-app';
import { callHost, registerChannel } from 'device/platform/xs-bridge';

/** `start` boots the app; `running` returns it, and throws if it has not been started. */
export function registerAppChannel(start: () => void, running: () => DeviceApp): void {
  registerChannel('app', (payload) => {
    const request = JSON.parse(utf8Decode(payload)) as { op: string };
    switch (request.op) {
      case 'start':
        start();
        return;
      case 'stop':
        running().stop(() => callHost('dev', utf8Encode('{"op":"stopped"}')));
        return;
      case 'sample':
        running().sampleNow();
        return;
      case 'stats':
        return utf8Encode(JSON.stringify(running().status));
      default:
        throw new Error(`unknown app op "${request.op}"`);
    }
  });
}
