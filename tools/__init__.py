"""Offline tools: run the real program under the Pulumi SDK's mock engine, plan, diff, graph."""
