// The built-in sensor-node app on the SDK: DHT22 temperature and humidity, a light sensor (BH1750
// or LDR), a PIR whose edges are published at once as motion events, and the DHT error count —
// the layout of SENSOR_NODE_DECLARATION (protocol/telemetry.ts). The sensors themselves come from
// the platform (canopy/sensors on the firmware, the simulator's models on the host).
import { encodeMotionEvent, SENSOR_NODE_TELEMETRY } from '../../protocol/telemetry';
import type { DeviceAppDefinition } from '../app/app-definition';

export interface ClimateReading {
  /** °C, or null when the last read failed. */
  temperature: number | null;
  /** %RH, or null when the last read failed. */
  humidity: number | null;
  /** Failed reads since boot (timeouts, checksum, out of range). */
  errors: number;
}

/** The sensor-node's sensors (what canopy/sensors builds from the drivers, or a simulator's models). */
export interface SensorNodeSensors {
  climate(): ClimateReading;
  /** Lux, or null when there is no light sensor or its read failed. */
  light(): number | null;
  /** Current motion state (false while the PIR warms up). */
  motion(): boolean;
  /** Motion start (true) and end (false) edges, after warm-up. */
  onMotion(callback: (active: boolean) => void): void;
  close(): void;
}

export function sensorNodeApp(sensors: SensorNodeSensors): DeviceAppDefinition {
  return {
    telemetry: SENSOR_NODE_TELEMETRY,
    read() {
      const climate = sensors.climate();
      const lux = sensors.light();
      return {
        temperature: climate.temperature,
        humidity: climate.humidity,
        lux: lux === null ? null : Math.min(65535, Math.max(0, Math.round(lux))),
        motion: sensors.motion(),
        dhtErrors: climate.errors,
      };
    },
    start(ctx) {
      sensors.onMotion((active) => ctx.publishEvent('motion', encodeMotionEvent({ seq: ctx.nextEventSeq(), ts: ctx.clock.unixTime(), active })));
    },
    // The climate or the light sensor gave a real value: the image reads its sensors.
    selfTest: (r) => (r.temperature !== null || r.lux !== null ? true : undefined),
    stop: () => sensors.close(),
  };
}
