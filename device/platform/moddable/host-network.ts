// The lin (mcsim) network: the host's own network is up whenever the simulator runs.
import { tlsSocket } from 'canopy/tls';
import type { DeviceNetwork } from 'device/platform/types';
import type { TlsIdentity } from 'device/config';
import { SocketConnection, tcpSocket } from 'device/platform/moddable/connection';

export function createNetwork(options: { ssid?: string; password?: string; sntpHost?: string; tls?: TlsIdentity }): DeviceNetwork {
  return {
    start(onState) {
      onState('up', 'host network');
    },
    connect(host, port, secure, handlers) {
      return new SocketConnection(host, port, secure ? tlsSocket(options.tls) : tcpSocket, handlers);
    },
    stop() {},
  };
}
