//! `#[derive(CommandHeader)]`: turns a struct of typed fields into a RocketMQ "custom header"
//! codec (struct ↔ `extFields` string map), as apogee-protocol's `CommandHeader` trait
//! describes.
//!
//! Rules, matching Java's `makeCustomHeaderToNet` / `decodeCommandCustomHeader`:
//! - the wire key is the field name in camelCase, or `#[header(rename = "isForce")]`;
//! - a non-`Option` field is required (`@CFNotNull`): missing → error naming the key;
//! - an `Option` field is written only when `Some`;
//! - values go through the `HeaderValue` trait (decimal numbers, `true`/`false`, enum names).

use proc_macro::TokenStream;
use quote::quote;
use syn::{
    Data, DeriveInput, Fields, GenericArgument, LitStr, PathArguments, Type, parse_macro_input,
};

#[proc_macro_derive(CommandHeader, attributes(header))]
pub fn derive_command_header(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(tokens) => tokens.into(),
        Err(err) => err.to_compile_error().into(),
    }
}

struct FieldSpec {
    ident: syn::Ident,
    key: String,
    inner: Option<Type>,
}

fn expand(input: &DeriveInput) -> syn::Result<proc_macro2::TokenStream> {
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            input,
            "CommandHeader can only be derived for structs",
        ));
    };
    let fields = match &data.fields {
        Fields::Named(named) => named.named.iter().collect::<Vec<_>>(),
        Fields::Unit => Vec::new(),
        Fields::Unnamed(_) => {
            return Err(syn::Error::new_spanned(
                input,
                "CommandHeader needs named fields",
            ));
        }
    };
    let specs = fields
        .into_iter()
        .map(field_spec)
        .collect::<syn::Result<Vec<_>>>()?;
    let name = &input.ident;
    let writes = specs.iter().map(|f| {
        let ident = &f.ident;
        let key = &f.key;
        if f.inner.is_some() {
            quote! { if let Some(v) = &self.#ident { out.insert(#key, crate::HeaderValue::to_header_value(v)); } }
        } else {
            quote! { out.insert(#key, crate::HeaderValue::to_header_value(&self.#ident)); }
        }
    });
    // One pass over the fields, each key matched against the struct's (a `match` on short
    // strings), instead of a search of the fields per struct field.
    let finds = specs.iter().enumerate().map(|(i, f)| {
        let key = &f.key;
        quote! { #key => found[#i] = Some(value), }
    });
    let reads = specs.iter().enumerate().map(|(i, f)| {
        let ident = &f.ident;
        let key = &f.key;
        if let Some(inner) = &f.inner {
            quote! { #ident: crate::header::parse_optional::<#inner>(found[#i], #key)? }
        } else {
            quote! { #ident: crate::header::parse_required(found[#i], #key)? }
        }
    });
    let count = specs.len();
    let keys = specs.iter().map(|f| &f.key);
    let required = specs.iter().map(|f| f.inner.is_none());
    Ok(quote! {
        impl crate::CommandHeader for #name {
            const FIELDS: &'static [crate::header::FieldDescriptor] = &[
                #(crate::header::FieldDescriptor { key: #keys, required: #required },)*
            ];

            fn write_ext_fields(&self, out: &mut crate::ExtFields) {
                #(#writes)*
            }

            #[allow(unused_mut, unused_variables, clippy::match_single_binding)]
            fn from_ext_fields(fields: &crate::ExtFields) -> Result<Self, crate::HeaderError> {
                let mut found: [Option<&str>; #count] = [None; #count];
                for (key, value) in fields.iter() {
                    match key {
                        #(#finds)*
                        _ => {}
                    }
                }
                Ok(Self { #(#reads,)* })
            }
        }
    })
}

fn field_spec(field: &syn::Field) -> syn::Result<FieldSpec> {
    let ident = field
        .ident
        .clone()
        .ok_or_else(|| syn::Error::new_spanned(field, "unnamed field"))?;
    let mut key = camel_case(&ident.to_string());
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("header")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let lit: LitStr = meta.value()?.parse()?;
                key = lit.value();
                Ok(())
            } else {
                Err(meta.error("unknown header attribute; expected `rename = \"…\"`"))
            }
        })?;
    }
    Ok(FieldSpec {
        ident,
        key,
        inner: option_inner(&field.ty),
    })
}

fn option_inner(ty: &Type) -> Option<Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(inner) => Some(inner.clone()),
        _ => None,
    }
}

fn camel_case(snake: &str) -> String {
    let raw = snake.strip_prefix("r#").unwrap_or(snake);
    let mut out = String::with_capacity(raw.len());
    let mut upper = false;
    for c in raw.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}
