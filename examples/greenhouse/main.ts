// The greenhouse firmware's entry (module "main"): the SDK's firmware runner with the greenhouse
// app. Like every entry it imports by full module name (docs/moddable.md).
import { runFirmware } from 'device/platform/moddable/firmware';
import { createHardware } from 'greenhouse/hardware';
import { greenhouseApp, greenhouseSettings } from 'examples/greenhouse/app';

runFirmware(({ config, clock }) => greenhouseApp(createHardware(config, clock), greenhouseSettings(config)));
