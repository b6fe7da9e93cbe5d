//! `/api/products`: the shared catalog. A product is one shoe *variant* (model × color × size).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{Ean13, FieldErrors, Price, ShoeSize, Sku};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Product {
    pub id: Uuid,
    pub sku: String,
    pub codigo_barras: String,
    pub nombre: String,
    pub marca: String,
    pub modelo: String,
    pub color: String,
    /// Mexican size, e.g. 26.5.
    pub talla: f64,
    /// Centavos.
    pub precio: i64,
    pub imagen: Option<String>,
    pub activo: bool,
    /// Server version of the row, for optimistic edits and sync.
    pub version: i64,
}

/// A new product, or every field of an edit (`PUT`). Raw JSON types; [`Self::validate`]
/// makes domain values of them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    #[serde(default)]
    pub id: Option<Uuid>,
    pub sku: String,
    pub codigo_barras: String,
    pub nombre: String,
    pub marca: String,
    pub modelo: String,
    pub color: String,
    pub talla: f64,
    pub precio: i64,
    #[serde(default)]
    pub imagen: Option<String>,
    #[serde(default = "yes")]
    pub activo: bool,
    /// For edits: the version the person started from; a newer server version answers 409
    /// instead of silently overwriting someone else's change.
    #[serde(default)]
    pub version: Option<i64>,
}

fn yes() -> bool {
    true
}

/// A product input that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidProduct {
    pub sku: Sku,
    pub barcode: Ean13,
    pub name: String,
    pub brand: String,
    pub model: String,
    pub color: String,
    pub size: ShoeSize,
    pub price: Price,
    pub image: Option<String>,
    pub active: bool,
}

impl ProductInput {
    pub fn validate(&self) -> Result<ValidProduct, FieldErrors> {
        let mut e = FieldErrors::new();
        let sku = e.check("sku", Sku::parse(&self.sku));
        let barcode = e.check("codigo_barras", Ean13::parse(&self.codigo_barras));
        let name = e.check("nombre", super::text(&self.nombre, 120, "El nombre"));
        let brand = e.check("marca", super::text(&self.marca, 60, "La marca"));
        let model = e.check("modelo", super::text(&self.modelo, 60, "El modelo"));
        let color = e.check("color", super::text(&self.color, 40, "El color"));
        let size = e.check("talla", ShoeSize::try_from(self.talla));
        let price = e.check("precio", Price::new(self.precio));
        let image = match self.imagen.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(path) if is_image_path(path) => Some(path.to_owned()),
            Some(_) => {
                e.add(
                    "imagen",
                    "La imagen debe ser una ruta de este servidor, como /imagenes/oxford-negro.jpg.",
                );
                None
            }
        };
        match (sku, barcode, name, brand, model, color, size, price) {
            (
                Some(sku),
                Some(barcode),
                Some(name),
                Some(brand),
                Some(model),
                Some(color),
                Some(size),
                Some(price),
            ) if e.is_empty() => Ok(ValidProduct {
                sku,
                barcode,
                name,
                brand,
                model,
                color,
                size,
                price,
                image,
                active: self.activo,
            }),
            _ => Err(e),
        }
    }
}

impl ValidProduct {
    /// The product as the API shows it, with this id and version.
    pub fn record(&self, id: Uuid, version: i64) -> Product {
        Product {
            id,
            sku: self.sku.to_string(),
            codigo_barras: self.barcode.to_string(),
            nombre: self.name.clone(),
            marca: self.brand.clone(),
            modelo: self.model.clone(),
            color: self.color.clone(),
            talla: self.size.tenths() as f64 / 10.0,
            precio: self.price.centavos(),
            imagen: self.image.clone(),
            activo: self.active,
            version,
        }
    }
}

/// `GET /api/products` filters: at most one of them is used, in this order of precedence.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct ProductQuery {
    /// Exact barcode (a scan).
    #[serde(default)]
    pub codigo_barras: Option<String>,
    /// Exact SKU.
    #[serde(default)]
    pub sku: Option<String>,
    /// Name prefix of any word-start in the name, case-insensitive (`oxf` finds "Oxford").
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub incluir_inactivos: bool,
    #[serde(default)]
    pub page: Option<u32>,
    #[serde(default)]
    pub per_page: Option<u32>,
}

impl ProductQuery {
    pub fn paging(&self) -> super::Paging {
        super::Paging::from_query(self.page, self.per_page)
    }
}

/// A product image is a path on this server: `/` then segments of letters, digits, `.`, `-`
/// and `_` — never `//host` (another origin), `..` (out of the folder), a scheme, a query or
/// anything a browser would decode. Every device shows it; none may be sent elsewhere.
pub fn is_image_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    path.len() <= 300
        && !rest.is_empty()
        && rest.split('/').all(|segment| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_image_is_a_plain_path_on_this_server_only() {
        use super::is_image_path;
        assert!(is_image_path("/imagenes/oxford-negro_26.jpg"));
        for bad in [
            "//evil.example/x.png",
            "/imagenes/../../etc/passwd",
            "https://cdn.example/x.png",
            "javascript:alert(1)",
            "/a/./b.png",
            "/a%2e%2e/b.png",
            "/a\\b.png",
            "/x.png?y=1",
            "/",
            "imagenes/x.png",
        ] {
            assert!(!is_image_path(bad), "{bad}");
        }
    }

    use super::*;

    fn input() -> ProductInput {
        ProductInput {
            id: None,
            sku: "pr-oxf-neg-265".into(),
            codigo_barras: "4006381333931".into(),
            nombre: "Oxford clásico".into(),
            marca: "Pronto".into(),
            modelo: "Oxford".into(),
            color: "Negro".into(),
            talla: 26.5,
            precio: 129_900,
            imagen: None,
            activo: true,
            version: None,
        }
    }

    #[test]
    fn a_good_input_becomes_domain_values() {
        let valid = input().validate().unwrap();
        assert_eq!(valid.sku.as_str(), "PR-OXF-NEG-265");
        assert_eq!(valid.size.tenths(), 265);
        assert_eq!(valid.price.centavos(), 129_900);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let mut bad = input();
        bad.codigo_barras = "4006381333932".into();
        bad.precio = -1;
        bad.talla = 31.0;
        bad.nombre = " ".into();
        bad.imagen = Some("javascript:alert(1)".into());
        let errors = bad.validate().unwrap_err();
        for field in ["codigo_barras", "precio", "talla", "nombre", "imagen"] {
            assert!(errors.get(field).is_some(), "{field}: {errors}");
        }
        assert!(errors.get("sku").is_none());
    }

    #[test]
    fn unknown_fields_are_refused() {
        let json = r#"{"sku":"ABC","codigo_barras":"4006381333931","nombre":"x","marca":"x","modelo":"x","color":"x","talla":25,"precio":100,"tienda_id":"x"}"#;
        assert!(serde_json::from_str::<ProductInput>(json).is_err());
    }
}
