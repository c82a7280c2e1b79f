import type { PromptArgument, PromptMessageTemplate } from "@omni/contracts";

export interface CatalogueEntry {
  server: { name: string; title: string; description: string };
  prompts: {
    name: string;
    title: string;
    description: string;
    arguments: PromptArgument[];
    messages: PromptMessageTemplate[];
  }[];
  resources: {
    uri: string;
    name: string;
    title: string;
    description: string;
    mimeType: string;
    text: string;
  }[];
}
