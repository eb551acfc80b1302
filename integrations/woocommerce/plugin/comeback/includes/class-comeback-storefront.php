<?php
/**
 * The storefront: the rewards widget on every page (guests and logged-in shoppers alike) and the
 * links Comeback's messages carry: `?comeback_coupon=CODE` puts a reward's code on the cart;
 * `?ref=<code>` (a referral) is read by the widget itself, so nothing happens here for it.
 *
 * @package Comeback
 */

defined( 'ABSPATH' ) || exit;

/**
 * Widget mount point, its script, and the coupon link.
 */
final class Comeback_Storefront {

	const SCRIPT_HANDLE      = 'comeback-widget';
	const PENDING_COUPON_KEY = 'comeback_pending_coupon';

	/**
	 * Hook into WordPress.
	 */
	public static function register() {
		add_action( 'wp_enqueue_scripts', array( __CLASS__, 'enqueue' ) );
		add_filter( 'script_loader_tag', array( __CLASS__, 'defer' ), 10, 2 );
		add_action( 'wp_footer', array( __CLASS__, 'mount' ), 5 );
		// After WooCommerce has loaded the cart and handled its own ?add-to-cart= (wp_loaded, 20).
		add_action( 'wp_loaded', array( __CLASS__, 'coupon_link' ), 30 );
		add_action( 'woocommerce_add_to_cart', array( __CLASS__, 'apply_pending_coupon' ), 20 );
	}

	/**
	 * Whether this page shows the widget (merchants may filter `comeback_show_widget`).
	 *
	 * @return bool
	 */
	private static function shows_widget() {
		$shows = Comeback_Connection::is_connected()
			&& '' !== Comeback_Connection::get( 'widget_script' )
			&& ! is_admin() && ! is_feed() && ! is_embed();
		return (bool) apply_filters( 'comeback_show_widget', $shows );
	}

	/**
	 * The widget's script from the app, deferred, in the footer.  It loads its own stylesheet
	 * (the mount point's data-css) without blocking the page, as on Shopify.
	 */
	public static function enqueue() {
		if ( ! self::shows_widget() ) {
			return;
		}
		// No version: the app serves the plain URL with a day's cache, so widget updates arrive.
		wp_enqueue_script( self::SCRIPT_HANDLE, Comeback_Connection::get( 'widget_script' ), array(), null, true ); // phpcs:ignore WordPress.WP.EnqueuedResourceParameters.MissingVersion
	}

	/**
	 * `defer` on the widget's script tag.
	 *
	 * @param string $tag    The script tag.
	 * @param string $handle Its handle.
	 * @return string
	 */
	public static function defer( $tag, $handle ) {
		if ( self::SCRIPT_HANDLE === $handle && false === strpos( $tag, ' defer' ) ) {
			$tag = str_replace( ' src=', ' defer src=', $tag );
		}
		return $tag;
	}

	/**
	 * The mount point the widget reads its settings from.  The customer id is a hint for the page
	 * only: the app trusts the signed `logged_in_customer_id` of the plugin's REST route.
	 */
	public static function mount() {
		if ( ! self::shows_widget() ) {
			return;
		}
		$user = get_current_user_id();
		if ( class_exists( 'WooCommerce' ) && function_exists( 'wc_get_page_permalink' ) ) {
			$login = wc_get_page_permalink( 'myaccount' );
		} else {
			$login = wp_login_url( self::current_url() );
		}
		$attributes = array(
			'id'               => 'comeback-widget',
			'class'            => 'comeback-widget',
			'data-endpoint'    => untrailingslashit( rest_url( Comeback_Proxy::REST_NAMESPACE ) ),
			'data-shop'        => Comeback_Connection::shop(),
			'data-locale'      => str_replace( '_', '-', determine_locale() ),
			'data-customer-id' => $user ? (string) $user : '',
			'data-login-url'   => $login,
			// The REST nonce: with the login cookie it tells WordPress (and so the app) who is here.
			'data-nonce'       => wp_create_nonce( 'wp_rest' ),
			'data-css'         => Comeback_Connection::get( 'widget_style' ),
		);
		$html = '<div data-comeback-widget';
		foreach ( $attributes as $name => $value ) {
			if ( '' === $value && 'data-customer-id' !== $name ) {
				continue;
			}
			$value = in_array( $name, array( 'data-endpoint', 'data-login-url', 'data-css' ), true ) ? esc_url( $value ) : esc_attr( $value );
			$html .= ' ' . $name . '="' . $value . '"';
		}
		echo $html . "></div>\n"; // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- every value escaped above.
	}

	/**
	 * `?comeback_coupon=CODE` on any page: the code goes on the shopper's cart and they land on
	 * the cart.  An empty cart keeps the code until the first product is added.
	 */
	public static function coupon_link() {
		if ( ! isset( $_GET['comeback_coupon'] ) || is_admin() || wp_doing_ajax() || wp_doing_cron() ) { // phpcs:ignore WordPress.Security.NonceVerification.Recommended -- a link in an email: nothing is changed but the shopper's own cart.
			return;
		}
		$code = sanitize_text_field( wp_unslash( $_GET['comeback_coupon'] ) ); // phpcs:ignore WordPress.Security.NonceVerification.Recommended
		$here = remove_query_arg( 'comeback_coupon', self::current_url() );
		if ( '' === $code || ! class_exists( 'WooCommerce' ) || ! function_exists( 'WC' ) || null === WC()->cart ) {
			wp_safe_redirect( $here );
			exit;
		}
		$code = wc_format_coupon_code( $code );
		if ( WC()->session && ! WC()->session->has_session() ) {
			WC()->session->set_customer_session_cookie( true );
		}
		if ( WC()->cart->has_discount( $code ) ) {
			wp_safe_redirect( wc_get_cart_url() );
			exit;
		}
		if ( WC()->cart->is_empty() ) {
			WC()->session->set( self::PENDING_COUPON_KEY, $code );
			wc_add_notice(
				/* translators: %s: discount code */
				sprintf( esc_html__( 'Your code %s will be applied when you add a product to your cart.', 'comeback' ), '<strong>' . esc_html( $code ) . '</strong>' ),
				'notice'
			);
			$shop = wc_get_page_permalink( 'shop' );
			wp_safe_redirect( $shop ? $shop : home_url( '/' ) );
			exit;
		}
		WC()->cart->apply_coupon( $code ); // Adds WooCommerce's own success or error notice.
		wp_safe_redirect( wc_get_cart_url() );
		exit;
	}

	/**
	 * The code a shopper arrived with on an empty cart, applied once a product is in it.
	 */
	public static function apply_pending_coupon() {
		if ( ! function_exists( 'WC' ) || ! WC()->session || null === WC()->cart ) {
			return;
		}
		$code = (string) WC()->session->get( self::PENDING_COUPON_KEY, '' );
		if ( '' === $code ) {
			return;
		}
		WC()->session->set( self::PENDING_COUPON_KEY, null );
		if ( ! WC()->cart->has_discount( $code ) ) {
			WC()->cart->apply_coupon( $code );
		}
	}

	/**
	 * The URL of the page being served.
	 *
	 * @return string
	 */
	private static function current_url() {
		$uri  = isset( $_SERVER['REQUEST_URI'] ) ? esc_url_raw( wp_unslash( $_SERVER['REQUEST_URI'] ) ) : '/';
		$home = wp_parse_url( home_url() );
		// The request path already holds a sub-directory install's path: only scheme and host come from home.
		$origin = ( is_ssl() ? 'https' : 'http' ) . '://' . $home['host'] . ( isset( $home['port'] ) ? ':' . $home['port'] : '' );
		return $origin . '/' . ltrim( $uri, '/' );
	}
}
