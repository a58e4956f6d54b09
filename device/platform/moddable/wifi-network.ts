// The ESP32 network: joins Wi-Fi with retries (exponential backoff, capped) and reports each
// state change, sets the clock once by SNTP, and opens broker connections over TCP or TLS.
import WiFi from 'wifi';
import SNTP from 'sntp';
import Time from 'time';
import Timer from 'timer';
import { tlsSocket } from 'canopy/tls';
import type { DeviceNetwork, LinkState } from 'device/platform/types';
import type { TlsIdentity } from 'device/config';
import { SocketConnection, tcpSocket } from 'device/platform/moddable/connection';

export interface WifiOptions {
  ssid?: string;
  password?: string;
  sntpHost?: string;
  /** The client certificate, key and broker CA from NVS, for mqtts:// brokers. */
  tls?: TlsIdentity;
}

const RETRY_BASE_MS = 1000;
const RETRY_CAP_MS = 60_000;

export function createNetwork(options: WifiOptions): DeviceNetwork {
  let wifi: WiFi | undefined;
  let retry: Timer | undefined;
  let attempts = 0;
  let report: (state: LinkState, detail: string) => void = () => {};
  let timeSet = false;

  const join = () => {
    retry = undefined;
    if (!options.ssid) {
      report('down', 'no Wi-Fi SSID configured (build with ssid=... or set it in the manifest config)');
      return;
    }
    attempts++;
    report('joining', `joining "${options.ssid}" (attempt ${attempts})`);
    wifi?.close();
    wifi = new WiFi({ ssid: options.ssid, password: options.password }, (message) => {
      if (message === WiFi.gotIP) {
        attempts = 0;
        report('up', `Wi-Fi "${options.ssid}" up`);
        if (!timeSet && options.sntpHost) setClock(options.sntpHost, () => (timeSet = true));
      } else if (message === WiFi.disconnected || message === WiFi.lostIP) {
        report('down', `Wi-Fi ${message === WiFi.lostIP ? 'lost its IP address' : 'disconnected'}`);
        const delay = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.min(attempts, 6));
        if (retry === undefined) retry = Timer.set(join, delay);
      }
    });
  };

  return {
    start(onState) {
      report = onState;
      join();
    },
    connect(host, port, secure, handlers) {
      return new SocketConnection(host, port, secure ? tlsSocket(options.tls) : tcpSocket, handlers);
    },
    stop() {
      if (retry !== undefined) Timer.clear(retry);
      retry = undefined;
      wifi?.close();
      wifi = undefined;
      WiFi.disconnect();
    },
  };
}

function setClock(host: string, done: () => void): void {
  new SNTP({ host }, (message, value) => {
    if (message === SNTP.time && value !== undefined) {
      Time.set(value);
      done();
    }
  });
}
