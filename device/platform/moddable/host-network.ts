// The lin (mcsim) network: the host's own network is up whenever the simulator runs.
import { tlsSocket } from 'canopy/tls';
import type { DeviceNetwork } from 'device/platform/types';
import { SocketConnection, tcpSocket } from 'device/platform/moddable/connection';

export function createNetwork(_options: unknown): DeviceNetwork {
  return {
    start(onState) {
      onState('up', 'host network');
    },
    connect(host, port, secure, handlers) {
      return new SocketConnection(host, port, secure ? tlsSocket : tcpSocket, handlers);
    },
    stop() {},
  };
}
