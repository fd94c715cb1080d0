import { createApp } from "./create-app.ts";

// The CDK CLI's entry (cdk.json "app"): builds the app; the CLI synthesizes it on exit.
createApp().app.synth();
