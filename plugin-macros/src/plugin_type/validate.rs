//! The rules a plugin type must follow, each an error spanned on the offending token.
//!
//! A plugin type is used as `dyn Trait`, so it must be object-safe; the checks below say which
//! method breaks that and why, where rustc would only say "cannot be made into an object".

use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{FnArg, ReturnType, Signature, TraitItem, TraitItemFn, Type, WherePredicate};

use super::parse::{ActionMethod, PluginTypeInput};
use crate::attrs::has_async_trait;
use crate::names::{name_problem, namespace_problem};

pub(crate) fn validate(input: &PluginTypeInput, errors: &mut darling::error::Accumulator) {
    check_names(input, errors);
    let original = &input.original;
    if !original.generics.params.is_empty() {
        errors.push(
            darling::Error::custom(
                "a plugin type cannot have generic parameters: the registry looks it up as one \
                 `dyn Trait`; use concrete types in its methods (like `amount: u64`), or declare \
                 one plugin type per type argument you need",
            )
            .with_span(&original.generics),
        );
    }
    if let Some(auto) = &original.auto_token {
        errors
            .push(darling::Error::custom("an auto trait cannot be a plugin type").with_span(auto));
    }
    let async_trait = has_async_trait(&original.attrs);
    for action in &input.actions {
        check_action(action, errors);
    }
    let is_action = |method: &TraitItemFn| {
        input
            .actions
            .iter()
            .any(|action| action.sig.ident == method.sig.ident)
    };
    let mut required = 0;
    for item in &original.items {
        match item {
            TraitItem::Fn(method) => {
                let sized_only = requires_sized(&method.sig);
                if method.default.is_none() && !sized_only {
                    required += 1;
                }
                // An action's shape check says what is wrong with it, object safety included.
                if !sized_only && !is_action(method) {
                    for error in method_problems(method, async_trait) {
                        errors.push(error);
                    }
                }
            }
            TraitItem::Type(ty) => errors.push(
                darling::Error::custom(format!(
                    "associated type `{}` makes `dyn {}` need it spelled out, so it cannot be a plugin type; \
                     use a concrete type in the method signatures instead",
                    ty.ident, original.ident
                ))
                .with_span(&ty.ident),
            ),
            TraitItem::Const(constant) => errors.push(
                darling::Error::custom(format!(
                    "associated const `{}` is not object-safe; use a method returning the value instead",
                    constant.ident
                ))
                .with_span(&constant.ident),
            ),
            _ => {}
        }
    }
    // A trait that adds nothing to a supertrait (`trait AuditHook: RequestHook {}`) takes
    // its contract from it: the supertrait's methods are what items implement.
    if required == 0 && !has_contract_supertrait(original) {
        errors.push(
            darling::Error::custom(format!(
                "plugin type `{}` has no required method; a plugin type is a contract: declare at \
                 least one method without a default body for items to implement (or a supertrait \
                 whose methods they implement)",
                original.ident
            ))
            .with_span(&original.ident),
        );
    }
}

/// Whether the trait has a supertrait other than the auto and marker traits (`Send`, `Sync`,
/// `Sized`, `Unpin`) and lifetimes: one that can carry the contract.
fn has_contract_supertrait(original: &syn::ItemTrait) -> bool {
    original.supertraits.iter().any(|bound| match bound {
        syn::TypeParamBound::Trait(bound) => bound.path.segments.last().is_some_and(|last| {
            !matches!(
                last.ident.to_string().as_str(),
                "Send" | "Sync" | "Sized" | "Unpin"
            )
        }),
        _ => false,
    })
}

/// What an action's method must be: `fn name(&self) -> Result<String, PluginError>`, with a
/// label. Each deviation is an error on its own token.
fn check_action(action: &ActionMethod, errors: &mut darling::error::Accumulator) {
    let sig = &action.sig;
    let name = &sig.ident;
    let shape = format!("write `fn {name}(&self) -> Result<String, PluginError>`");
    match &action.args.label {
        None if action.args_ok => errors.push(
            darling::Error::custom(
                "missing `label`: write #[action(label = \"Test the connection\")]; the label is \
                 what the action's button says",
            )
            .with_span(action.attr.path()),
        ),
        Some(label) if label.trim().is_empty() => errors.push(
            darling::Error::custom(
                "the label of an action is what its button says, so it cannot be empty",
            )
            .with_span(&label.span()),
        ),
        _ => {}
    }
    if let Some(asyncness) = &sig.asyncness {
        errors.push(
            darling::Error::custom(format!(
                "action `{name}` cannot be `async`: the admin runs it on a thread of its own and \
                 waits for its answer; {shape}"
            ))
            .with_span(asyncness),
        );
    }
    match sig.inputs.first() {
        Some(FnArg::Receiver(receiver))
            if receiver.reference.is_some()
                && receiver.mutability.is_none()
                && receiver.colon_token.is_none() => {}
        Some(FnArg::Receiver(receiver)) => errors.push(
            darling::Error::custom(format!(
                "action `{name}` must take `&self`: it runs against an instance that every \
                 thread shares; {shape}"
            ))
            .with_span(&match &receiver.mutability {
                Some(mutability) => mutability.span,
                None => receiver.self_token.span,
            }),
        ),
        _ => errors.push(
            darling::Error::custom(format!(
                "action `{name}` has no `self` receiver: an action runs against one instance; \
                 {shape}"
            ))
            .with_span(name),
        ),
    }
    let receiver = usize::from(matches!(sig.inputs.first(), Some(FnArg::Receiver(_))));
    if let Some(argument) = sig.inputs.iter().nth(receiver) {
        errors.push(
            darling::Error::custom(format!(
                "action `{name}` takes arguments, but operators run an action with nothing but \
                 the instance (read what it needs from the instance's config); {shape}"
            ))
            .with_span(argument),
        );
    }
    if let Some(param) = sig
        .generics
        .params
        .iter()
        .find(|param| !matches!(param, syn::GenericParam::Lifetime(_)))
    {
        errors.push(
            darling::Error::custom(format!(
                "action `{name}` cannot be generic: it is called on a `dyn Trait` with nothing \
                 to choose the type from; {shape}"
            ))
            .with_span(param),
        );
    }
    if requires_sized(sig) {
        // The `Self: Sized` bound itself (`requires_sized` found one).
        let bound = sig.generics.where_clause.as_ref().and_then(|clause| {
            clause.predicates.iter().find(|predicate| {
                matches!(predicate, WherePredicate::Type(bound)
                    if matches!(&bound.bounded_ty, Type::Path(p) if p.path.is_ident("Self")))
            })
        });
        errors.push(
            darling::Error::custom(format!(
                "action `{name}` has `where Self: Sized`, so it cannot be called on an instance \
                 (a `dyn Trait`); remove the bound"
            ))
            .with_span(&bound),
        );
    }
    let returns = "an action returns `Result<String, PluginError>`: the text operators see \
                   when it succeeds, or the error saying why it failed";
    match &sig.output {
        ReturnType::Default => errors.push(
            darling::Error::custom(format!("action `{name}` returns nothing; {returns}"))
                .with_span(name),
        ),
        ReturnType::Type(_, ty) if !is_action_result(ty) => errors.push(
            darling::Error::custom(format!(
                "action `{name}` returns `{}`; {returns}",
                crate::attrs::type_text(ty)
            ))
            .with_span(ty),
        ),
        ReturnType::Type(..) => {}
    }
}

/// `Result<String, PluginError>`, each part under any path (`std::result::Result`,
/// `plugin_system::PluginError`).
fn is_action_result(ty: &Type) -> bool {
    fn last(ty: &Type) -> Option<&syn::PathSegment> {
        match ty {
            Type::Path(path) if path.qself.is_none() => path.path.segments.last(),
            Type::Group(group) => last(&group.elem),
            Type::Paren(paren) => last(&paren.elem),
            _ => None,
        }
    }
    let named = |ty: &Type, name: &str| {
        last(ty).is_some_and(|segment| segment.ident == name && segment.arguments.is_none())
    };
    let Some(result) = last(ty).filter(|segment| segment.ident == "Result") else {
        return false;
    };
    let syn::PathArguments::AngleBracketed(arguments) = &result.arguments else {
        return false;
    };
    let types: Vec<&Type> = arguments
        .args
        .iter()
        .filter_map(|argument| match argument {
            syn::GenericArgument::Type(ty) => Some(ty),
            _ => None,
        })
        .collect();
    arguments.args.len() == 2
        && types.len() == 2
        && named(types[0], "String")
        && named(types[1], "PluginError")
}

fn check_names(input: &PluginTypeInput, errors: &mut darling::error::Accumulator) {
    match &input.args.name {
        None if !input.args_ok => {}
        None => errors.push(
            darling::Error::custom(
                "missing `name`: use #[plugin_type(name = \"...\")] with a lowercase name like \"payment_gateway\"",
            )
            .with_span(&input.args_span),
        ),
        Some(name) => {
            if let Some(problem) = name_problem(name) {
                errors.push(darling::Error::custom(format!("invalid plugin type name: {problem}")).with_span(&name.span()));
            }
        }
    }
    if let Some(namespace) = &input.args.namespace
        && let Some(problem) = namespace_problem(namespace)
    {
        errors.push(
            darling::Error::custom(format!("invalid namespace: {problem}"))
                .with_span(&namespace.span()),
        );
    }
    if let Some(crate::attrs::Written(version)) = &input.args.version
        && parse_contract_version(version).is_none()
    {
        let message = if is_zero(version) {
            "`version = 0` is not a contract version: contract versions start at 1 (the \
             default); leave `version` out for the first contract, and write `version = 2` when \
             the trait's methods change"
        } else {
            "`version` of a plugin type is its contract's version: an integer from 1, like \
             `version = 2` (raise it when the trait's methods change)"
        };
        errors.push(darling::Error::custom(message).with_span(version));
    }
}

/// The value of `version = <integer>` on a plugin type: from 1 to `i32::MAX` (what every
/// store's integer column holds).
pub(crate) fn parse_contract_version(expr: &syn::Expr) -> Option<u32> {
    match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(int),
            ..
        }) => int
            .base10_parse::<u32>()
            .ok()
            .filter(|version| (1..=i32::MAX.unsigned_abs()).contains(version)),
        syn::Expr::Group(group) => parse_contract_version(&group.expr),
        _ => None,
    }
}

/// `version = 0`, which gets a message of its own.
fn is_zero(expr: &syn::Expr) -> bool {
    match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(int),
            ..
        }) => int.base10_parse::<u64>().is_ok_and(|value| value == 0),
        syn::Expr::Group(group) => is_zero(&group.expr),
        _ => false,
    }
}

/// `where Self: Sized` takes a method out of the trait object: it needs no object safety and
/// is not part of the contract items must fill.
pub(crate) fn requires_sized(sig: &Signature) -> bool {
    sig.generics.where_clause.as_ref().is_some_and(|clause| {
        clause.predicates.iter().any(|predicate| match predicate {
            WherePredicate::Type(bound) => {
                matches!(&bound.bounded_ty, Type::Path(p) if p.path.is_ident("Self"))
                    && bound.bounds.iter().any(
                        |b| matches!(b, syn::TypeParamBound::Trait(t) if t.path.is_ident("Sized")),
                    )
            }
            _ => false,
        })
    })
}

/// Why a method keeps the trait from being used as `dyn Trait`, one error per reason (none
/// for a method that is fine, or one kept out of the contract by `where Self: Sized`).
pub(crate) fn method_problems(method: &TraitItemFn, async_trait: bool) -> Vec<darling::Error> {
    let mut problems = Vec::new();
    if requires_sized(&method.sig) {
        return problems;
    }
    let errors = &mut problems;
    let sig = &method.sig;
    let name = &sig.ident;
    let not_object_safe = |why: String| {
        format!(
            "method `{name}` {why}, so the trait cannot be used as `dyn Trait`; add `where Self: Sized` to keep it out of the plugin contract"
        )
    };
    match sig.inputs.first() {
        Some(FnArg::Receiver(receiver)) => {
            if receiver.reference.is_none() && receiver.colon_token.is_none() {
                errors.push(
                    darling::Error::custom(not_object_safe("takes `self` by value".into()))
                        .with_span(&receiver.self_token),
                );
            }
        }
        _ => errors.push(
            darling::Error::custom(not_object_safe("has no `self` receiver".into()))
                .with_span(name),
        ),
    }
    if let Some(param) = sig
        .generics
        .params
        .iter()
        .find(|param| !matches!(param, syn::GenericParam::Lifetime(_)))
    {
        errors.push(
            darling::Error::custom(format!(
                "method `{name}` is generic, so the trait cannot be used as `dyn Trait`; take a \
                 concrete type (like `amount: u64`) or a `&dyn Trait` argument instead, or add \
                 `where Self: Sized` to keep the method out of the plugin contract"
            ))
            .with_span(param),
        );
    }
    if let Some(asyncness) = &sig.asyncness
        && !async_trait
    {
        errors.push(
            darling::Error::custom(format!(
                "async method `{name}` is not object-safe; add #[async_trait::async_trait] below #[plugin_type] \
                 (and on each item's impl)"
            ))
            .with_span(asyncness),
        );
    }
    let mut finder = SelfOrImplFinder::default();
    for input in sig.inputs.iter().skip(1) {
        if let FnArg::Typed(arg) = input {
            finder.visit_type(&arg.ty);
        }
    }
    if let ReturnType::Type(_, ty) = &sig.output {
        finder.visit_type(ty);
    }
    if let Some(span) = finder.self_type {
        errors.push(
            darling::Error::custom(not_object_safe("uses `Self` outside its receiver".into()))
                .with_span(&span),
        );
    }
    if let Some(span) = finder.impl_trait {
        errors.push(
            darling::Error::custom(not_object_safe("uses `impl Trait` in its signature".into()))
                .with_span(&span),
        );
    }
    problems
}

/// Finds `Self` and `impl Trait` in a signature's types.
#[derive(Default)]
struct SelfOrImplFinder {
    self_type: Option<proc_macro2::Span>,
    impl_trait: Option<proc_macro2::Span>,
}

impl<'ast> Visit<'ast> for SelfOrImplFinder {
    fn visit_type_path(&mut self, path: &'ast syn::TypePath) {
        if path.qself.is_none()
            && path
                .path
                .segments
                .first()
                .is_some_and(|s| s.ident == "Self")
            && self.self_type.is_none()
        {
            self.self_type = Some(path.span());
        }
        syn::visit::visit_type_path(self, path);
    }

    fn visit_type_impl_trait(&mut self, ty: &'ast syn::TypeImplTrait) {
        if self.impl_trait.is_none() {
            self.impl_trait = Some(ty.span());
        }
    }
}
