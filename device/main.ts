// The sensor-node firmware's entry (mcconfig builds this as the `main` module): the SDK's
// firmware runner (device/platform/moddable/firmware) with the built-in sensor-node app. Which
// sensors and which network it gets is chosen per platform in manifest.json: drivers and Wi-Fi
// on esp32, a simulated model and the host network on lin.
//
// Every import here is a full module name. XS resolves a relative specifier against the
// importer's module NAME ("main"), not its file (device/main.ts), so `../protocol/...` would type-check
// and then abort at boot.
import { createSensors } from 'canopy/sensors';
import { runFirmware } from 'device/platform/moddable/firmware';
import { sensorNodeApp } from 'device/sensor-node/app';

runFirmware(({ settings, clock }) => sensorNodeApp(createSensors(settings, clock)));
