import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { KeyCreatedPublic } from "../api/types";
import { ConfirmButton } from "../components/ui";
import { BudgetForm, budgetPreview } from "./BudgetPage";
import { CreateKeyForm, NewKeyPanel } from "./KeysPage";
import { safeNext } from "./LoginPage";
import { InviteForm } from "./UsersPage";

const NOW = () => new Date("2026-11-28T12:00:00Z");

describe("CreateKeyForm", () => {
  it("refuses an empty name without calling the API", async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn();
    render(<CreateKeyForm onSubmit={onSubmit} now={NOW} />);
    await user.click(screen.getByRole("button", { name: "Create key" }));
    expect(screen.getByText("Name is required.")).toBeInTheDocument();
    expect(screen.getByLabelText("Key name")).toHaveAttribute("aria-invalid", "true");
    expect(onSubmit).not.toHaveBeenCalled();
  });

  it("sends name and expiry, then clears the form", async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn().mockResolvedValue(null);
    render(<CreateKeyForm onSubmit={onSubmit} now={NOW} />);
    await user.type(screen.getByLabelText("Key name"), "ci-pipeline");
    await user.selectOptions(screen.getByLabelText("Expires"), "90");
    await user.click(screen.getByRole("button", { name: "Create key" }));
    expect(onSubmit).toHaveBeenCalledWith({ name: "ci-pipeline", expires_in_days: 90 });
    expect(screen.getByLabelText("Key name")).toHaveValue("");
  });

  it("asks for a future custom date", async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn().mockResolvedValue(null);
    render(<CreateKeyForm onSubmit={onSubmit} now={NOW} />);
    await user.type(screen.getByLabelText("Key name"), "laptop");
    await user.selectOptions(screen.getByLabelText("Expires"), "custom");
    const date = screen.getByLabelText("Expiry date");
    await user.type(date, "2020-01-01");
    await user.click(screen.getByRole("button", { name: "Create key" }));
    expect(screen.getByText("The expiry date must be in the future.")).toBeInTheDocument();
    expect(onSubmit).not.toHaveBeenCalled();

    await user.clear(date);
    await user.type(date, "2027-01-31");
    await user.click(screen.getByRole("button", { name: "Create key" }));
    expect(onSubmit).toHaveBeenCalledWith({ name: "laptop", expires_at: "2027-01-31T23:59:59.000Z" });
  });

  it("shows the API's refusal and keeps the input", async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn().mockResolvedValue("an active key of yours has this name");
    render(<CreateKeyForm onSubmit={onSubmit} now={NOW} />);
    await user.type(screen.getByLabelText("Key name"), "dup");
    await user.keyboard("{Enter}");
    expect(await screen.findByRole("alert")).toHaveTextContent("an active key of yours has this name");
    expect(screen.getByLabelText("Key name")).toHaveValue("dup");
  });
});

describe("NewKeyPanel", () => {
  const created: KeyCreatedPublic = {
    id: "k1",
    org_id: "o1",
    name: "ci",
    prefix: "ias-AbCdEfGh",
    owner: { id: "u1", email: "dev@example.com" },
    status: "active",
    created_at: "2026-11-28T12:00:00Z",
    last_used_at: null,
    expires_at: null,
    revoked_at: null,
    key: "ias-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
  };

  it("shows the whole key once, with a warning and a copy button", async () => {
    const user = userEvent.setup();
    const onDone = vi.fn();
    render(<NewKeyPanel created={created} onDone={onDone} />);
    expect(screen.getByTestId("new-key")).toHaveTextContent(created.key);
    expect(screen.getByRole("alert")).toHaveTextContent(/not be shown again/);
    await user.click(screen.getByRole("button", { name: "Copy" }));
    expect(await navigator.clipboard.readText()).toBe(created.key);
    expect(screen.getByText("Copied to the clipboard.")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "I have copied the key" }));
    expect(onDone).toHaveBeenCalled();
  });
});

describe("InviteForm", () => {
  it("checks the address before sending", async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn().mockResolvedValue(null);
    render(<InviteForm onSubmit={onSubmit} />);
    await user.type(screen.getByLabelText("Email address"), "grace");
    await user.click(screen.getByRole("button", { name: "Invite" }));
    expect(screen.getByText(/Enter a valid e-mail address/)).toBeInTheDocument();
    expect(onSubmit).not.toHaveBeenCalled();
  });

  it("invites with the chosen role", async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn().mockResolvedValue(null);
    render(<InviteForm onSubmit={onSubmit} />);
    await user.type(screen.getByLabelText("Email address"), " grace@example.com ");
    await user.selectOptions(screen.getByLabelText("Role"), "Org Admin");
    await user.click(screen.getByRole("button", { name: "Invite" }));
    expect(onSubmit).toHaveBeenCalledWith("grace@example.com", "org_admin");
    expect(screen.getByLabelText("Email address")).toHaveValue("");
  });

  it("shows a conflict from the API", async () => {
    const user = userEvent.setup();
    render(<InviteForm onSubmit={vi.fn().mockResolvedValue("the address is already a member")} />);
    await user.type(screen.getByLabelText("Email address"), "ada@example.com");
    await user.click(screen.getByRole("button", { name: "Invite" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("the address is already a member");
  });
});

describe("BudgetForm", () => {
  it("previews the amount as the API reads it", () => {
    expect(budgetPreview("500M")).toBe("= 500,000,000 tokens per month (500M)");
    expect(budgetPreview("1,500")).toBe("= 1,500 tokens per month (1.5k)");
    expect(budgetPreview("unlimited")).toMatch(/No limit/);
    expect(budgetPreview("5X")).toBe("");
  });

  it("refuses what the API would refuse", async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn().mockResolvedValue(null);
    render(<BudgetForm initial="unlimited" onSubmit={onSubmit} />);
    const input = screen.getByLabelText("Monthly token budget");
    expect(input).toHaveValue("unlimited");
    await user.clear(input);
    await user.type(input, "1.2345k");
    await user.click(screen.getByRole("button", { name: "Save budget" }));
    expect(screen.getByText(/not a whole number of tokens/)).toBeInTheDocument();
    expect(onSubmit).not.toHaveBeenCalled();
  });

  it("sends the human amount as typed", async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn().mockResolvedValue(null);
    render(<BudgetForm initial="" onSubmit={onSubmit} />);
    await user.type(screen.getByLabelText("Monthly token budget"), " 2B ");
    expect(screen.getByTestId("budget-preview")).toHaveTextContent("= 2,000,000,000 tokens per month (2B)");
    await user.click(screen.getByRole("button", { name: "Save budget" }));
    expect(onSubmit).toHaveBeenCalledWith("2B");
  });
});

describe("ConfirmButton", () => {
  it("asks before a destructive action, and Cancel does nothing", async () => {
    const user = userEvent.setup();
    const action = vi.fn().mockResolvedValue(undefined);
    const onDone = vi.fn();
    render(<ConfirmButton label="Revoke" title="Revoke this API key?" message="It stops working." confirmLabel="Revoke key" action={action} onDone={onDone} />);
    await user.click(screen.getByRole("button", { name: "Revoke" }));
    const dialog = screen.getByRole("dialog", { name: "Revoke this API key?" });
    expect(within(dialog).getByRole("button", { name: "Cancel" })).toHaveFocus();
    await user.click(within(dialog).getByRole("button", { name: "Cancel" }));
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(action).not.toHaveBeenCalled();

    await user.click(screen.getByRole("button", { name: "Revoke" }));
    await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Revoke key" }));
    expect(action).toHaveBeenCalledTimes(1);
    expect(onDone).toHaveBeenCalledTimes(1);
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
  });

  it("closes on Escape and keeps the dialog open with the API's message on failure", async () => {
    const user = userEvent.setup();
    const action = vi.fn().mockRejectedValue(new Error("already revoked"));
    render(<ConfirmButton label="Revoke" title="Sure?" message="x" confirmLabel="Revoke key" action={action} />);
    await user.click(screen.getByRole("button", { name: "Revoke" }));
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Revoke" }));
    await user.click(screen.getByRole("button", { name: "Revoke key" }));
    expect(await within(screen.getByRole("dialog")).findByRole("alert")).toHaveTextContent("already revoked");
  });
});

describe("safeNext", () => {
  it("only follows same-site paths", () => {
    expect(safeNext("/org/1/keys")).toBe("/org/1/keys");
    expect(safeNext(null)).toBe("/");
    expect(safeNext("https://evil.example")).toBe("/");
    expect(safeNext("//evil.example")).toBe("/");
    expect(safeNext("/\\evil.example")).toBe("/");
    expect(safeNext("/login")).toBe("/");
  });
});
