// The greenhouse's telemetry, declared once: the device encodes its samples from this, the host
// decodes them by it (the sample carries this declaration's schema id), and docs/sdk.md shows its
// CDDL. Changing a field changes the id, so an old decoder refuses the new samples.
import { Telemetry, type TelemetryDeclaration } from '../../protocol/telemetry-schema';

export const GREENHOUSE_DECLARATION: TelemetryDeclaration = {
  name: 'greenhouse',
  fields: [
    { name: 'temperature', type: 'int', unit: '°C', scale: 1, min: -40, max: 80, nullable: true, description: 'DHT22' },
    { name: 'humidity', type: 'int', unit: '%RH', scale: 1, min: 0, max: 100, nullable: true, description: 'DHT22' },
    { name: 'lux', type: 'int', unit: 'lx', min: 0, max: 65535, nullable: true, description: 'BH1750' },
    { name: 'fan', type: 'bool', description: 'ventilation relay, as commanded' },
    { name: 'manual', type: 'bool', description: 'the fan is held by a set-output command, not the rule' },
  ],
};

export const GREENHOUSE_TELEMETRY = new Telemetry(GREENHOUSE_DECLARATION);
